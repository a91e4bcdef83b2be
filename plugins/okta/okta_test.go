package okta

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

const secret = "Basic dGVzdDpva3RhLXNlY3JldA=="

func signWith(header string) func(time.Time, string, []byte) *fasthttp.Request {
	return func(_ time.Time, secret string, body []byte) *fasthttp.Request {
		req := new(fasthttp.Request)
		req.Header.SetMethod("POST")
		req.SetRequestURI("/webhook/prod/okta")
		req.Header.SetContentType("application/json")
		req.Header.Set("User-Agent", "Okta Event Hooks")
		req.Header.Set(header, secret)
		req.SetBody(body)
		return req
	}
}

func testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func suiteCase(t testing.TB, header, opts string) plugintest.Case {
	c := plugintest.Case{
		Provider: Provider{},
		Config:   provider.Config{Secret: secret, PreviousSecret: "old-secret"},
		Sign:     signWith(header),
		Body:     testdata(t, "event.json"),
		Field:    Field,
		Keys:     []string{"dev-1234567.okta.com"},
		Header:   header,
	}
	if opts != "" {
		c.Config.Options = json.RawMessage(opts)
	}
	return c
}

func TestConformance(t *testing.T) {
	t.Run("Authorization", func(t *testing.T) { plugintest.Run(t, suiteCase(t, "Authorization", "")) })
	t.Run("custom header", func(t *testing.T) {
		plugintest.Run(t, suiteCase(t, "X-Hook-Secret", `{"header":"X-Hook-Secret"}`))
	})
}

func TestHandshake(t *testing.T) {
	inst, err := Provider{}.Provision(provider.Config{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	in := inst.(*Instance)
	for _, tt := range []struct {
		name, method, challenge string
		handled                 bool
		body                    string
	}{
		{"challenge", "GET", "xKm_Zr8-3mTBZEu2DBQIw5YGVebqqR2ncEKuthhG", true, `{"verification":"xKm_Zr8-3mTBZEu2DBQIw5YGVebqqR2ncEKuthhG"}`},
		{"quotes are escaped", "GET", `a"b\c`, true, `{"verification":"a\"b\\c"}`},
		{"POST is an event", "POST", "x", false, ""},
		{"GET without challenge", "GET", "", false, ""},
	} {
		req := new(fasthttp.Request)
		req.Header.SetMethod(tt.method)
		if tt.challenge != "" {
			req.Header.Set(ChallengeHeader, tt.challenge)
		}
		var w provider.Reply
		handled, err := in.Handshake(&provider.Request{Req: req}, &w)
		if err != nil || handled != tt.handled || handled && (w.Status != 200 || w.ContentType != "application/json" || string(w.Body) != tt.body || !json.Valid(w.Body)) {
			t.Errorf("%s: Handshake = %v, %v, %d %q %s", tt.name, handled, err, w.Status, w.ContentType, w.Body)
		}
	}
}

func TestRoute(t *testing.T) {
	inst, _ := Provider{}.Provision(provider.Config{Secret: secret})
	sign := signWith("Authorization")
	for _, tt := range []struct {
		name, body, key, typ, id string
		status                   int
	}{
		{"event", string(testdata(t, "event.json")), "dev-1234567.okta.com", "user.session.start", "b5a188b9-5ece-4636-b041-482ffda96311", 0},
		{"custom domain with port", `{"source":"https://login.example.com:8443/api/v1/eventHooks/x"}`, "login.example.com:8443", "", "", 0},
		{"no source", `{"data":{"events":[]}}`, "", "", "", 0},
		{"source not a URL", `{"source":"okta"}`, "", "", "", 0},
		{"not JSON", `event`, "", "", "", 400},
	} {
		var rt provider.Routing
		err := inst.Route(&provider.Request{Req: sign(time.Time{}, secret, []byte(tt.body))}, &rt)
		if tt.status != 0 {
			var pe *provider.Error
			if !errors.As(err, &pe) || pe.Status != 400 {
				t.Errorf("%s: Route = %v", tt.name, err)
			}
			continue
		}
		var key string
		if len(rt.Keys) > 0 {
			key = string(rt.Keys[0])
		}
		if err != nil || rt.Field != Field || key != tt.key || len(rt.Keys) > 1 || string(rt.EventType) != tt.typ || string(rt.EventID) != tt.id {
			t.Errorf("%s: Route = %v %q %q type %q id %q", tt.name, err, rt.Field, rt.Keys, rt.EventType, rt.EventID)
		}
	}
}

func TestProvision(t *testing.T) {
	for name, tt := range map[string]struct {
		cfg provider.Config
		ok  bool
	}{
		"default header": {provider.Config{Secret: "s"}, true},
		"custom header":  {provider.Config{Secret: "s", Options: json.RawMessage(`{"header":"X-Okta-Secret"}`)}, true},
		"empty header":   {provider.Config{Secret: "s", Options: json.RawMessage(`{"header":""}`)}, false},
		"no secret":      {provider.Config{}, false},
		"unknown option": {provider.Config{Secret: "s", Options: json.RawMessage(`{"prefix":"Bearer "}`)}, false},
	} {
		_, err := Provider{}.Provision(tt.cfg)
		if (err == nil) != tt.ok || err != nil && !strings.HasPrefix(err.Error(), "plugins/okta: ") {
			t.Errorf("%s: Provision err = %v; want ok %v", name, err, tt.ok)
		}
	}
}

func seeds(t testing.TB) [][]byte { return [][]byte{testdata(t, "event.json")} }

func FuzzVerify(f *testing.F) { plugintest.FuzzVerify(f, suiteCase(f, "Authorization", ""), seeds(f)) }

func FuzzRoute(f *testing.F) { plugintest.FuzzRoute(f, suiteCase(f, "Authorization", ""), seeds(f)) }
