package jira

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/hex"
	"hash"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/plugins/plugintest"
	"github.com/edgehook/edgehook/provider"
)

const (
	secret   = "jira_current"
	previous = "jira_previous"
	delivery = "6a8c1a2e-1111-4d9f-9b2f-3c4d5e6f7a8b"
)

// sign builds a delivery as Jira Cloud sends it.
func sign(_ time.Time, key string, body []byte) *fasthttp.Request {
	return plugintest.NewRequest("/webhook/prod/jira", "application/json; charset=UTF-8", body,
		"User-Agent", "Atlassian Webhook HTTP Client",
		"X-Atlassian-Webhook-Identifier", delivery,
		"X-Atlassian-Webhook-Retry", "0",
		"X-Atlassian-Webhook-Flow", "Primary",
		Header, "sha256="+hex.EncodeToString(plugintest.MAC([]byte(key), body)))
}

// vector is the constructed vector of shared/PROVIDERS.md (no Jira SDK
// verifies; recomputed there with Python's hmac).
var vector = plugintest.Vector{
	Name:   "PROVIDERS.md constructed",
	Config: provider.Config{Secret: "jira_wh_secret"},
	Now:    time.Unix(1700000000, 0),
	Request: func() *fasthttp.Request {
		return plugintest.NewRequest("/webhook/prod/jira", "application/json",
			[]byte(`{"timestamp":1700000000000,"webhookEvent":"jira:issue_created","issue":{"id":"10001","self":"https://acme.atlassian.net/rest/api/2/issue/10001","key":"PRJ-1"}}`),
			Header, "sha256=63594d8e967fe4b081c22327a7e413f5758b4afb592f7a4c0e2e2442bd763e87")
	},
}

func suiteCase(t testing.TB) plugintest.Case {
	return plugintest.Case{
		Provider: Provider{},
		Config:   provider.Config{Secret: secret, PreviousSecret: previous},
		Sign:     sign,
		Body:     plugintest.Testdata(t, "issue_updated.json"),
		Field:    Field,
		Keys:     []string{"https://acme-eu.atlassian.net"},
		Header:   Header,
		Signed:   true,
		Vectors:  []plugintest.Vector{vector},
	}
}

func TestConformance(t *testing.T) { plugintest.Run(t, suiteCase(t)) }

func TestVerifyMethods(t *testing.T) {
	inst, err := Provider{}.Provision(provider.Config{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	body := plugintest.Testdata(t, "issue_created.json")
	mac := func(h func() hash.Hash, key string) string {
		m := hmac.New(h, []byte(key))
		m.Write(body)
		return hex.EncodeToString(m.Sum(nil))
	}
	good256 := hex.EncodeToString(plugintest.MAC([]byte(secret), body))
	tests := []struct {
		name, header string
		want         bool
	}{
		{"sha256", "sha256=" + good256, true},
		{"sha512", "sha512=" + mac(sha512.New, secret), true},
		{"sha512 with a sha256 mac", "sha512=" + good256, false},
		{"sha1 is refused", "sha1=" + mac(sha1.New, secret), false},
		{"no method", good256, false},
		{"unknown method", "md5=" + good256, false},
		{"method upper-case", "SHA256=" + good256, false},
	}
	for _, tt := range tests {
		req := sign(time.Time{}, secret, body)
		req.Header.Set(Header, tt.header)
		if ok, err := inst.Verify(&provider.Request{Req: req}); ok != tt.want || err != nil {
			t.Errorf("%s: Verify = %v, %v; want %v", tt.name, ok, err, tt.want)
		}
	}
}

func TestRoute(t *testing.T) {
	inst, err := Provider{}.Provision(provider.Config{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		body []byte
		key  string
		typ  string
	}{
		{"issue created", plugintest.Testdata(t, "issue_created.json"), "https://acme.atlassian.net", "jira:issue_created"},
		{"first self is the user's", plugintest.Testdata(t, "issue_updated.json"), "https://acme-eu.atlassian.net", "jira:issue_updated"},
		{"port kept, self in text ignored", plugintest.Testdata(t, "comment_created.json"), "https://acme.atlassian.net:443", "comment_created"},
		{"no self", plugintest.Testdata(t, "version_released.json"), "", "jira:version_released"},
		{"escaped slashes", []byte(`{"webhookEvent":"x","issue":{"self":"https:\/\/acme.atlassian.net\/rest"}}`), "https://acme.atlassian.net", "x"},
		{"self not a URL", []byte(`{"webhookEvent":"x","self":"not a url","issue":{"self":"https://b.atlassian.net/x"}}`), "", "x"},
		{"self with user info", []byte(`{"self":"https://u@acme.atlassian.net/x"}`), "", ""},
		{"query right after host", []byte(`{"self":"https://acme.atlassian.net?x=1"}`), "https://acme.atlassian.net", ""},
	}
	for _, tt := range tests {
		var rt provider.Routing
		if err := inst.Route(&provider.Request{Req: sign(time.Time{}, secret, tt.body)}, &rt); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var key string
		if len(rt.Keys) == 1 {
			key = string(rt.Keys[0])
		}
		if rt.Field != Field || key != tt.key || len(rt.Keys) > 1 || string(rt.EventType) != tt.typ || string(rt.EventID) != delivery {
			t.Errorf("%s: field %q keys %q type %q id %q", tt.name, rt.Field, rt.Keys, rt.EventType, rt.EventID)
		}
	}
	var rt provider.Routing
	if err := inst.Route(&provider.Request{Req: sign(time.Time{}, secret, []byte(`{"self":`))}, &rt); err == nil {
		t.Error("truncated JSON routed")
	}
}

func TestOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"https://acme.atlassian.net/rest/api/2/issue/1": "https://acme.atlassian.net",
		"HTTPS://Acme.atlassian.net/x":                  "HTTPS://Acme.atlassian.net",
		"http://jira.internal:8080":                     "http://jira.internal:8080",
		"https://acme.atlassian.net#frag":               "https://acme.atlassian.net",
		"ftp://acme/x":                                  "", "https:///x": "", "://x": "", "acme.atlassian.net/x": "", "": "",
	} {
		if got := string(Origin([]byte(in))); got != want {
			t.Errorf("Origin(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestProvision(t *testing.T) {
	for _, cfg := range []provider.Config{{}, {Secret: "s", Options: []byte(`{"method":"sha1"}`)}} {
		if _, err := (Provider{}).Provision(cfg); err == nil || !strings.HasPrefix(err.Error(), "plugins/jira: ") {
			t.Errorf("Provision(%+v) err = %v", cfg, err)
		}
	}
}

func seeds(t testing.TB) [][]byte {
	return plugintest.Seeds(t, "issue_created.json", "issue_updated.json", "comment_created.json", "version_released.json")
}

func FuzzVerify(f *testing.F) { plugintest.FuzzVerify(f, suiteCase(f), seeds(f)) }
func FuzzRoute(f *testing.F)  { plugintest.FuzzRoute(f, suiteCase(f), seeds(f)) }
