package msgraph

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgehook/edgehook/plugins/plugintest"
	"github.com/edgehook/edgehook/provider"
	"github.com/valyala/fasthttp"
)

const (
	secret   = "secretClientValue"
	previous = "previousClientValue"
	subA     = "7f105c7d-2dc5-4530-97cd-4e7ae6534c07"
	subB     = "0f5f2c1e-0b27-4a83-9d7e-2f1c9e4f1b33"
)

// sign builds a notification POST as Graph sends it, with every
// clientState set to secret.
func sign(_ time.Time, secret string, body []byte) *fasthttp.Request {
	req := new(fasthttp.Request)
	req.Header.SetMethod("POST")
	req.SetRequestURI("/webhook/prod/msgraph")
	req.Header.SetContentType("application/json; charset=utf-8")
	req.SetBody([]byte(strings.ReplaceAll(string(body), `"clientState":"secretClientValue"`, `"clientState":"`+secret+`"`)))
	return req
}

func testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func suiteCase(t testing.TB, body string, keys ...string) plugintest.Case {
	return plugintest.Case{
		Provider: Provider{},
		Config:   provider.Config{Secret: secret, PreviousSecret: previous},
		Sign:     sign,
		Body:     testdata(t, body),
		Field:    Field,
		Keys:     keys,
	}
}

func TestConformance(t *testing.T) {
	t.Run("one subscription", func(t *testing.T) { plugintest.Run(t, suiteCase(t, "created.json", subA)) })
	t.Run("two subscriptions", func(t *testing.T) { plugintest.Run(t, suiteCase(t, "mixed.json", subA, subB)) })
}

func provision(t *testing.T) provider.Instance {
	t.Helper()
	inst, err := Provider{}.Provision(provider.Config{Secret: secret, PreviousSecret: previous})
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

func TestHandshake(t *testing.T) {
	in := provision(t).(*Instance)
	tests := []struct {
		uri     string
		handled bool
		body    string
	}{
		// The docs' shape: the token is URL-encoded in the query and
		// answered decoded, byte for byte.
		{"/webhook/prod/msgraph?validationToken=Validation%3A%20Testing%20client%20application%20reachability%20for%20subscription%20Request-Id%3A%2025f3ba26-1a4b-4c4e-9f73-0ff0c1a4d1b3", true,
			"Validation: Testing client application reachability for subscription Request-Id: 25f3ba26-1a4b-4c4e-9f73-0ff0c1a4d1b3"},
		{"/webhook/prod/msgraph?validationToken=%3Cscript%3E%26%2B", true, "<script>&+"},
		{"/webhook/prod/msgraph?validationToken=", true, ""},
		{"/webhook/prod/msgraph?other=1", false, ""},
		{"/webhook/prod/msgraph", false, ""},
	}
	for _, tt := range tests {
		req := new(fasthttp.Request)
		req.Header.SetMethod("POST")
		req.Header.SetContentType("text/plain; charset=utf-8")
		req.SetRequestURI(tt.uri)
		var w provider.Reply
		handled, err := in.Handshake(&provider.Request{Req: req}, &w)
		if err != nil || handled != tt.handled {
			t.Errorf("%s: Handshake = %v, %v", tt.uri, handled, err)
			continue
		}
		if handled && (w.Status != 200 || !strings.HasPrefix(w.ContentType, "text/plain") || string(w.Body) != tt.body || len(w.Header) != 1) {
			t.Errorf("%s: reply %d %q %q %v", tt.uri, w.Status, w.ContentType, w.Body, w.Header)
		}
	}
}

func TestVerify(t *testing.T) {
	in := provision(t)
	tests := []struct {
		name, body, secret string
		want               bool
	}{
		{"one", string(testdata(t, "created.json")), secret, true},
		{"mixed", string(testdata(t, "mixed.json")), secret, true},
		{"previous", string(testdata(t, "mixed.json")), previous, true},
		{"wrong", string(testdata(t, "created.json")), "secretClientValuE", false},
		{"one item wrong", strings.Replace(string(testdata(t, "mixed.json")), `"clientState":"secretClientValue"`, `"clientState":"x"`, 1), secret, false},
		{"one item without", `{"value":[{"clientState":"secretClientValue"},{"subscriptionId":"a"}]}`, secret, false},
		{"number", `{"value":[{"clientState":1}]}`, secret, false},
		{"empty value", `{"value":[]}`, secret, false},
		{"not an object", `{"value":["secretClientValue"]}`, secret, false},
		{"no value", `{"clientState":"secretClientValue"}`, secret, false},
		{"not JSON", `value=1`, secret, false},
		{"empty", ``, secret, false},
	}
	for _, tt := range tests {
		if ok, err := in.Verify(&provider.Request{Req: sign(time.Time{}, tt.secret, []byte(tt.body))}); ok != tt.want || err != nil {
			t.Errorf("%s: Verify = %v, %v; want %v", tt.name, ok, err, tt.want)
		}
	}
}

// TestRouteParts checks a mixed POST: each subscription gets the body
// with only its notifications, other fields kept.
func TestRouteParts(t *testing.T) {
	in := provision(t)
	r := &provider.Request{Req: sign(time.Time{}, secret, testdata(t, "mixed.json"))}
	var rt provider.Routing
	rt.Scratch = make([]byte, 0, 8) // too small: Route must grow it safely
	if err := in.Route(r, &rt); err != nil {
		t.Fatal(err)
	}
	if len(rt.Keys) != 2 || string(rt.Keys[0]) != subA || string(rt.Keys[1]) != subB || len(rt.Parts) != 2 {
		t.Fatalf("Keys %q, %d parts", rt.Keys, len(rt.Parts))
	}
	if string(rt.EventType) != "created" || rt.EventID != nil {
		t.Errorf("EventType %q EventID %q", rt.EventType, rt.EventID)
	}
	want := map[int][]string{0: {"AAMkA1", "AAMkA3"}, 1: {"AAMkB2"}}
	for i, p := range rt.Parts {
		var got struct {
			Value []struct {
				SubscriptionID string `json:"subscriptionId"`
				Resource       string `json:"resource"`
			} `json:"value"`
			ValidationTokens []string `json:"validationTokens"`
		}
		if err := json.Unmarshal(p, &got); err != nil {
			t.Fatalf("part %d %s: %v", i, p, err)
		}
		if len(got.Value) != len(want[i]) || len(got.ValidationTokens) != 1 {
			t.Fatalf("part %d: %s", i, p)
		}
		for j, v := range got.Value {
			if v.SubscriptionID != string(rt.Keys[i]) || !strings.HasSuffix(v.Resource, want[i][j]) {
				t.Errorf("part %d item %d: %+v", i, j, v)
			}
		}
	}
}

func TestRoute(t *testing.T) {
	in := provision(t)
	tests := []struct {
		name, body string
		keys       []string
		typ        string
		status     int
	}{
		{"created", string(testdata(t, "created.json")), []string{subA}, "created", 0},
		{"lifecycle", string(testdata(t, "lifecycle.json")), []string{subA}, "reauthorizationRequired", 0},
		{"same subscription twice", `{"value":[{"subscriptionId":"a","changeType":"updated"},{"subscriptionId":"a"}]}`, []string{"a"}, "updated", 0},
		{"no subscription id", `{"value":[{"changeType":"updated"}]}`, nil, "updated", 0},
		{"value not an array", `{"value":{}}`, nil, "", 400},
		{"array body", `[{"value":[]}]`, nil, "", 400},
		{"truncated", `{"value":[{"subscriptionId":"a"}]`, nil, "", 400},
	}
	for _, tt := range tests {
		var rt provider.Routing
		err := in.Route(&provider.Request{Req: sign(time.Time{}, secret, []byte(tt.body))}, &rt)
		if tt.status != 0 {
			var pe *provider.Error
			if !errors.As(err, &pe) || pe.Status != tt.status {
				t.Errorf("%s: Route = %v; want %d", tt.name, err, tt.status)
			}
			continue
		}
		var keys []string
		for _, k := range rt.Keys {
			keys = append(keys, string(k))
		}
		if err != nil || strings.Join(keys, ",") != strings.Join(tt.keys, ",") || string(rt.EventType) != tt.typ || len(rt.Parts) != 0 || rt.Payload != nil {
			t.Errorf("%s: Route = %v keys %q type %q parts %d", tt.name, err, keys, rt.EventType, len(rt.Parts))
		}
	}
}

func TestProvision(t *testing.T) {
	for name, tt := range map[string]struct {
		cfg provider.Config
		ok  bool
	}{
		"secret":         {provider.Config{Secret: "s"}, true},
		"no secret":      {provider.Config{}, false},
		"unknown option": {provider.Config{Secret: "s", Options: json.RawMessage(`{"x":1}`)}, false},
	} {
		_, err := Provider{}.Provision(tt.cfg)
		if (err == nil) != tt.ok || err != nil && !strings.HasPrefix(err.Error(), "plugins/msgraph: ") {
			t.Errorf("%s: Provision err = %v; want ok %v", name, err, tt.ok)
		}
	}
}

func seeds(t testing.TB) [][]byte {
	return [][]byte{testdata(t, "created.json"), testdata(t, "mixed.json"), testdata(t, "lifecycle.json")}
}

func FuzzVerify(f *testing.F) {
	plugintest.FuzzVerify(f, suiteCase(f, "mixed.json", subA, subB), seeds(f))
}

func FuzzRoute(f *testing.F) {
	plugintest.FuzzRoute(f, suiteCase(f, "mixed.json", subA, subB), seeds(f))
}

func BenchmarkVerifyRoute(b *testing.B) {
	inst, _ := Provider{}.Provision(provider.Config{Secret: secret})
	r := &provider.Request{Req: sign(time.Time{}, secret, testdata(b, "mixed.json"))}
	var rt provider.Routing
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
