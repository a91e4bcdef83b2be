package plugintest

import (
	"crypto/hmac"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/provider"
)

// Testdata returns the contents of testdata/name in the calling plugin's
// folder, failing the test when it cannot be read.
func Testdata(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// Seeds returns the contents of several testdata files, for fuzz seeds.
func Seeds(tb testing.TB, names ...string) [][]byte {
	tb.Helper()
	out := make([][]byte, len(names))
	for i, n := range names {
		out[i] = Testdata(tb, n)
	}
	return out
}

// MAC returns HMAC-SHA256(key, the concatenation of parts).
func MAC(key []byte, parts ...[]byte) []byte {
	h := hmac.New(sha256.New, key)
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

// NewRequest returns a POST to uri with the content type, body and headers
// (name, value pairs) given.
func NewRequest(uri, contentType string, body []byte, headers ...string) *fasthttp.Request {
	req := new(fasthttp.Request)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURI(uri)
	if contentType != "" {
		req.Header.SetContentType(contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	req.SetBody(body)
	return req
}

// BenchmarkVerifyRoute measures Verify and Route of one valid delivery,
// reporting allocations and the body size.
func BenchmarkVerifyRoute(b *testing.B, inst provider.Instance, r *provider.Request) {
	var rt provider.Routing
	b.SetBytes(int64(len(r.Body())))
	b.ReportAllocs()
	for b.Loop() {
		rt.Reset()
		if ok, err := inst.Verify(r); !ok || err != nil {
			b.Fatalf("Verify = %v, %v", ok, err)
		}
		if err := inst.Route(r, &rt); err != nil {
			b.Fatal(err)
		}
	}
}
