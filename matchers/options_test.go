package matchers

import (
	"strings"
	"testing"
	"time"
)

func TestDecodeHMACOptions(t *testing.T) {
	o, err := DecodeHMACOptions([]byte(`{"header":"X-Sig","algorithm":"sha512","encoding":"base64","prefix":"v1=",
		"signed":"{timestamp}.{body}","timestamp_header":"X-Ts","tolerance":"2m","id_header":"X-Id",
		"event_type_header":"X-Event","route_path":"data.account","route_field":"account_id"}`))
	if err != nil {
		t.Fatal(err)
	}
	if o.Header != "X-Sig" || o.Algorithm != "sha512" || o.RouteField != "account_id" || o.Tolerance != "2m" {
		t.Errorf("decoded %+v", o)
	}
	g, err := o.Compile([]byte("k"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if g.HMAC.ts.tol != 2*time.Minute || g.Route.String() != "data.account" || g.EventTypeHeader != "X-Event" || g.IDHeader != "X-Id" {
		t.Errorf("compiled %+v", g)
	}
	for _, bad := range []string{
		`{"header":"X-Sig","secret":"x"}`,
		`{"header":"X-Sig"} {}`,
		`{"header":1}`,
		`[1]`,
		`{"header":"X-Sig"`,
	} {
		if _, err := DecodeHMACOptions([]byte(bad)); err == nil || !strings.HasPrefix(err.Error(), "matchers: hmac: ") {
			t.Errorf("DecodeHMACOptions(%s) err = %v", bad, err)
		}
	}
	if o, err := DecodeHMACOptions(nil); err != nil || o != (HMACOptions{}) {
		t.Errorf("nil options: %+v, %v", o, err)
	}
}

func TestHMACOptionsCompileErrors(t *testing.T) {
	for _, raw := range []string{
		``,
		`{"header":"h","tolerance":"5","timestamp_header":"X-Ts","signed":"{timestamp}{body}"}`,
		`{"header":"h","tolerance":"-1s","timestamp_header":"X-Ts","signed":"{timestamp}{body}"}`,
		`{"header":"h","route_path":"a.b"}`,
		`{"header":"h","route_field":"f"}`,
		`{"header":"h","route_path":"a..b","route_field":"f"}`,
		`{"header":"h","algorithm":"md5"}`,
		`{"header":"h","signed":"{timestamp}{body}"}`,
		`{"header":"h","timestamp_header":"X-Ts"}`,
		`{"header":"h","timestamp_header":"X-Ts","signed":"{id}{body}","id_header":"X-Id"}`,
		`{"header":"h","tolerance":"1m"}`,
		`{"header":"h","signed":"{id}{body}"}`,
		`{"header":"h","encoding":"base32"}`,
		`{"header":"h","signed":"{bodyy}"}`,
	} {
		if _, err := Compile([]byte(raw), []byte("k"), nil); err == nil {
			t.Errorf("Compile(%s) accepted", raw)
		}
	}
	g, err := Compile([]byte(`{"header":"X-Hub-Signature-256","prefix":"sha256="}`), []byte(githubSecret), nil)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := g.HMAC.Match(newReq("POST", "Hello, World!", unix1700, "X-Hub-Signature-256", githubSig)); !ok {
		t.Error("generic github-shaped options reject the published vector")
	}
	if !g.Route.IsZero() {
		t.Error("route set without route_path")
	}
}
