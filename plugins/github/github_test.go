package github

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash"
	"testing"
	"time"

	"github.com/edgehook/edgehook/plugins/plugintest"
	"github.com/edgehook/edgehook/provider"
	"github.com/valyala/fasthttp"
)

const (
	secret   = "test-secret-current"
	previous = "test-secret-previous"
)

func mac(newHash func() hash.Hash, key string, body []byte) string {
	h := hmac.New(newHash, []byte(key))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// sign builds a delivery as GitHub sends it: form-encoded when body starts
// with "payload=", else JSON.
func sign(_ time.Time, key string, body []byte) *fasthttp.Request {
	req := new(fasthttp.Request)
	req.Header.SetMethod("POST")
	req.SetRequestURI("/webhook/prod/github")
	req.Header.Set("User-Agent", "GitHub-Hookshot/044aadd")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
	req.Header.Set("X-GitHub-Hook-ID", "30")
	req.Header.SetContentType("application/json")
	if bytes.HasPrefix(body, []byte("payload=")) {
		req.Header.SetContentType("application/x-www-form-urlencoded")
	}
	req.Header.Set("X-Hub-Signature", "sha1="+mac(sha1.New, key, body))
	req.Header.Set("X-Hub-Signature-256", "sha256="+mac(sha256.New, key, body))
	req.SetBody(body)
	return req
}

// testdata reads a file of testdata/.
var testdata = plugintest.Testdata

func suiteCase(t testing.TB, body string) plugintest.Case {
	return plugintest.Case{
		Provider: Provider,
		Config:   provider.Config{Secret: secret, PreviousSecret: previous},
		Sign:     sign,
		Body:     testdata(t, body),
		Field:    Field,
		Keys:     []string{"1001"},
		Header:   "X-Hub-Signature-256",
		Signed:   true,
		Vectors:  []plugintest.Vector{publishedVector},
	}
}

// publishedVector is GitHub's documented example (shared/PROVIDERS.md).
var publishedVector = plugintest.Vector{
	Name:   "github docs",
	Config: provider.Config{Secret: "It's a Secret to Everybody"},
	Now:    time.Unix(1700000000, 0),
	Request: func() *fasthttp.Request {
		req := new(fasthttp.Request)
		req.Header.SetMethod("POST")
		req.Header.Set("X-Hub-Signature-256", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")
		req.SetBodyString("Hello, World!")
		return req
	},
}

func TestConformance(t *testing.T) {
	t.Run("json", func(t *testing.T) { plugintest.Run(t, suiteCase(t, "push.json")) })
	t.Run("form", func(t *testing.T) { plugintest.Run(t, suiteCase(t, "push.form")) })
}

// TestPublishedVector checks GitHub's documented example.
func TestPublishedVector(t *testing.T) {
	inst, err := Provider.Provision(publishedVector.Config)
	if err != nil {
		t.Fatal(err)
	}
	r := &provider.Request{Req: publishedVector.Request(), Now: time.Now()}
	if ok, err := inst.Verify(r); !ok || err != nil {
		t.Fatalf("Verify = %v, %v; want true", ok, err)
	}
	var rt provider.Routing
	var pe *provider.Error
	if err := inst.Route(r, &rt); !errors.As(err, &pe) || pe.Status != 400 {
		t.Fatalf("Route of a non-JSON body = %v; want a 400 *provider.Error", err)
	}
}

func TestVerify(t *testing.T) {
	inst, err := Provider.Provision(provider.Config{Secret: secret, PreviousSecret: previous})
	if err != nil {
		t.Fatal(err)
	}
	body := testdata(t, "push.json")
	tests := []struct {
		name string
		edit func(*fasthttp.Request)
		want bool
	}{
		{"valid", func(*fasthttp.Request) {}, true},
		{"legacy sha1 header alone", func(r *fasthttp.Request) { r.Header.Del("X-Hub-Signature-256") }, false},
		{"sha1 value in the sha256 header", func(r *fasthttp.Request) {
			r.Header.Set("X-Hub-Signature-256", string(r.Header.Peek("X-Hub-Signature")))
		}, false},
		{"upper-case hex", func(r *fasthttp.Request) {
			v := bytes.ToUpper(r.Header.Peek("X-Hub-Signature-256")[7:])
			r.Header.Set("X-Hub-Signature-256", "sha256="+string(v))
		}, true},
	}
	for _, tt := range tests {
		req := sign(time.Time{}, secret, body)
		tt.edit(req)
		if ok, err := inst.Verify(&provider.Request{Req: req}); ok != tt.want || err != nil {
			t.Errorf("%s: Verify = %v, %v; want %v", tt.name, ok, err, tt.want)
		}
	}
}

func TestRoute(t *testing.T) {
	inst, err := Provider.Provision(provider.Config{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		body    []byte
		ct      string
		keys    []string
		payload string // expected Payload; "" means the raw body (nil)
		status  int
	}{
		{"push", testdata(t, "push.json"), "", []string{"1001"}, "", 0},
		{"installation", testdata(t, "installation.json"), "", []string{"2002"}, "", 0},
		{"ping without installation", testdata(t, "ping.json"), "", nil, "", 0},
		{"installation id as string", []byte(`{"installation":{"id":"3003"}}`), "", []string{"3003"}, "", 0},
		{"installation null", []byte(`{"installation":null}`), "", nil, "", 0},
		{"array body", []byte(`[{"installation":{"id":1}}]`), "", nil, "", 0},
		{"form", testdata(t, "push.form"), "", []string{"1001"}, string(bytes.TrimSpace(testdata(t, "push.json"))), 0},
		{"form with + and %", []byte(`payload=%7B%22installation%22%3A%7B%22id%22%3A7%7D%2C%22t%22%3A%22a+b%22%7D`), "", []string{"7"}, `{"installation":{"id":7},"t":"a b"}`, 0},
		{"truncated JSON", []byte(`{"installation":{"id":1001}`), "", nil, "", 400},
		{"not JSON", []byte(`Hello, World!`), "", nil, "", 400},
		{"empty", nil, "", nil, "", 400},
		{"form without payload", []byte(`other=1`), "application/x-www-form-urlencoded", nil, "", 400},
		{"form with bad JSON", []byte(`payload=%7B`), "", nil, "", 400},
	}
	for _, tt := range tests {
		req := sign(time.Time{}, secret, tt.body)
		if tt.ct != "" {
			req.Header.SetContentType(tt.ct)
		}
		r := &provider.Request{Req: req}
		if ok, _ := inst.Verify(r); !ok {
			t.Fatalf("%s: Verify failed", tt.name)
		}
		var rt provider.Routing
		err := inst.Route(r, &rt)
		if tt.status != 0 {
			var pe *provider.Error
			if !errors.As(err, &pe) || pe.Status != tt.status {
				t.Errorf("%s: Route = %v; want status %d", tt.name, err, tt.status)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: Route: %v", tt.name, err)
			continue
		}
		var keys []string
		for _, k := range rt.Keys {
			keys = append(keys, string(k))
		}
		if rt.Field != Field || len(keys) != len(tt.keys) || len(keys) > 0 && keys[0] != tt.keys[0] {
			t.Errorf("%s: Field %q Keys %q; want %q %q", tt.name, rt.Field, keys, Field, tt.keys)
		}
		if string(rt.Payload) != tt.payload || tt.payload == "" && rt.Payload != nil {
			t.Errorf("%s: Payload = %.60q; want %.60q", tt.name, rt.Payload, tt.payload)
		}
		if rt.Payload != nil && !json.Valid(rt.Payload) {
			t.Errorf("%s: Payload is not JSON", tt.name)
		}
		if string(rt.EventType) != "push" || string(rt.EventID) != "72d3162e-cc78-11e3-81ab-4c9367dc0958" {
			t.Errorf("%s: EventType %q EventID %q", tt.name, rt.EventType, rt.EventID)
		}
	}
}

func TestRouteWithoutEventHeaders(t *testing.T) {
	inst, _ := Provider.Provision(provider.Config{Secret: secret})
	req := sign(time.Time{}, secret, []byte(`{}`))
	req.Header.Del("X-GitHub-Event")
	req.Header.Del("X-GitHub-Delivery")
	var rt provider.Routing
	if err := inst.Route(&provider.Request{Req: req}, &rt); err != nil || rt.EventType != nil || rt.EventID != nil {
		t.Errorf("Route = %v, EventType %q, EventID %q; want nil ones", err, rt.EventType, rt.EventID)
	}
}

func TestProvision(t *testing.T) {
	tests := []struct {
		name string
		cfg  provider.Config
		ok   bool
	}{
		{"secret", provider.Config{Secret: "s"}, true},
		{"rotation", provider.Config{Secret: "s", PreviousSecret: "p"}, true},
		{"empty options", provider.Config{Secret: "s", Options: json.RawMessage(`{}`)}, true},
		{"null options", provider.Config{Secret: "s", Options: json.RawMessage(`null`)}, true},
		{"no secret", provider.Config{}, false},
		{"only previous", provider.Config{PreviousSecret: "p"}, false},
		{"unknown option", provider.Config{Secret: "s", Options: json.RawMessage(`{"header":"X"}`)}, false},
		{"options not an object", provider.Config{Secret: "s", Options: json.RawMessage(`[]`)}, false},
	}
	for _, tt := range tests {
		_, err := Provider.Provision(tt.cfg)
		if (err == nil) != tt.ok {
			t.Errorf("%s: Provision err = %v; want ok %v", tt.name, err, tt.ok)
		}
		if err != nil && !bytes.HasPrefix([]byte(err.Error()), []byte("plugins/github: ")) {
			t.Errorf("%s: error %q lacks the package prefix", tt.name, err)
		}
	}
}

func seeds(t testing.TB) [][]byte {
	var out [][]byte
	for _, n := range []string{"push.json", "installation.json", "ping.json", "push.form"} {
		out = append(out, testdata(t, n))
	}
	return out
}

func FuzzVerify(f *testing.F) {
	plugintest.FuzzVerify(f, suiteCase(f, "push.json"), seeds(f))
}

func FuzzRoute(f *testing.F) {
	plugintest.FuzzRoute(f, suiteCase(f, "push.json"), seeds(f))
}

func BenchmarkVerifyRoute(b *testing.B) {
	inst, _ := Provider.Provision(provider.Config{Secret: secret})
	body := testdata(b, "push.json")
	r := &provider.Request{Req: sign(time.Time{}, secret, body), Now: time.Now()}
	var rt provider.Routing
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		rt.Reset()
		if ok, _ := inst.Verify(r); !ok {
			b.Fatal("Verify failed")
		}
		if err := inst.Route(r, &rt); err != nil {
			b.Fatal(err)
		}
	}
}
