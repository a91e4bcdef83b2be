package matchers

import (
	"bufio"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/edgehook/edgehook/provider"
	"github.com/valyala/fasthttp"
)

// newReq builds a provider.Request; headers are name, value pairs.
func newReq(method, body string, now time.Time, headers ...string) *provider.Request {
	r := new(fasthttp.Request)
	r.Header.SetMethod(method)
	r.SetRequestURI("/webhook/env/integ")
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	r.SetBodyString(body)
	return &provider.Request{Req: r, Now: now}
}

// lines returns the non-empty lines of a testdata file.
func lines(t testing.TB, name string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if sc.Text() != "" {
			out = append(out, sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
