package gateway_test

import (
	"strings"
	"testing"
)

func TestAdminAPI(t *testing.T) {
	g := startGateway(t, startEtcd(t), gwOpts{})
	g.put(t, "prod", `{"webhook_urls":["https://app.example/hooks"],"webhook_secret":"s3cret"}`)
	g.put(t, "prod/integrations/streak", `{"provider":"streak"}`)
	g.put(t, "prod/integrations/github", `{"provider":"github","webhook_secret":"gh","webhook_secret_previous":"old"}`)
	base := g.admin + "/v1/environments/"
	cases := []struct {
		method, path, body string
		want               int
		contains, absent   string
	}{
		{"GET", "prod", "", 200, `"webhook_secret":"********"`, "s3cret"},
		{"GET", "prod/integrations/github", "", 200, `"webhook_secret_previous":"********"`, `"gh"`},
		{"PUT", "prod/integrations/streak/connections/c1", `{"config":{"streakWebhookToken":"tok"},"credentials":{"api_key":"k"}}`, 200, `"********"`, `"tok"`},
		{"GET", "prod/integrations/streak/connections/c1", "", 200, `"api_key":"********"`, `"k"`},
		{"PUT", "prod", `{"webhook_urls":[],"surprise":1}`, 400, `"code":"invalid"`, ""},
		{"PUT", "prod", `{not json`, 400, `"error"`, ""},
		{"PUT", "prod/integrations/x", `{"provider":"nope"}`, 400, `"error"`, ""},
		{"PUT", "prod/integrations/x", `{}`, 400, `"error"`, ""},
		{"PUT", "prod/integrations/streak/connections/c2", `{"connection_id":"other"}`, 400, `"error"`, ""},
		{"GET", "nope", "", 404, `"code":"not_found"`, ""},
		{"GET", "prod/integrations/streak/connections/missing", "", 404, `"not_found"`, ""},
		{"DELETE", "prod/integrations/streak/connections/c1", "", 204, "", ""},
		{"DELETE", "prod/integrations/streak/connections/c1", "", 404, "", ""},
		{"GET", "prod/deliveries?status=dead", "", 200, `"deliveries":[]`, ""},
		{"GET", "prod/deliveries?status=weird", "", 400, "", ""},
		{"POST", "prod/deliveries/nope/retry", "", 404, "", ""},
	}
	for _, c := range cases {
		st, b := do(t, c.method, base+c.path, []byte(c.body), nil)
		if st != c.want || !strings.Contains(string(b), c.contains) || (c.absent != "" && strings.Contains(string(b), c.absent)) {
			t.Errorf("%s %s: %d %s; want %d containing %q without %q", c.method, c.path, st, b, c.want, c.contains, c.absent)
		}
	}
}

// With --admin-token every admin route but health, readiness and metrics
// needs the bearer token; a wrong one is 401 with the JSON error body.
func TestAdminToken(t *testing.T) {
	g := startGateway(t, startEtcd(t), gwOpts{adminToken: "t0ken"})
	url := g.admin + "/v1/environments/prod"
	body := []byte(`{"webhook_urls":[]}`)
	for _, h := range []map[string]string{nil, {"Authorization": "Bearer wrong"}, {"Authorization": "t0ken"}, {"Authorization": "Bearer t0ken2"}} {
		if st, b := do(t, "PUT", url, body, h); st != 401 || !strings.Contains(string(b), `"code":"unauthorized"`) {
			t.Errorf("PUT with %v: %d %s", h, st, b)
		}
	}
	if st, b := do(t, "PUT", url, body, map[string]string{"Authorization": "Bearer t0ken"}); st != 200 {
		t.Fatalf("PUT with the token: %d %s", st, b)
	}
	// Profiles reveal internals: they need the token too.
	if st, _ := do(t, "GET", g.admin+"/debug/pprof/heap", nil, nil); st != 401 {
		t.Errorf("/debug/pprof/heap without a token: %d, want 401", st)
	}
	if st, _ := do(t, "GET", g.admin+"/debug/pprof/heap", nil, map[string]string{"Authorization": "Bearer t0ken"}); st != 200 {
		t.Errorf("/debug/pprof/heap with the token: %d, want 200", st)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if st, _ := do(t, "GET", g.admin+p, nil, nil); st != 200 {
			t.Errorf("%s without a token: %d", p, st)
		}
	}
}

// A connection's config is shown as stored, except the fields its provider
// names as credentials; every credentials value is masked. A GitHub
// connection (whose provider names no credential config field) once came
// back with "installation_id":"********".
func TestAdminMasksOnlyCredentialFields(t *testing.T) {
	g := startGateway(t, startEtcd(t), gwOpts{})
	g.put(t, "prod", `{"webhook_urls":[]}`)
	g.put(t, "prod/integrations/github", `{"provider":"github","webhook_secret":"gh"}`)
	g.put(t, "prod/integrations/streak", `{"provider":"streak"}`)
	base := g.admin + "/v1/environments/prod/integrations/"
	cases := []struct {
		path, body       string
		contains, absent []string
	}{
		{"github/connections/c1", `{"config":{"installation_id":1001,"account":"acme"},"credentials":{"token":"ghp_x"}}`,
			[]string{`"installation_id":1001`, `"account":"acme"`, `"token":"********"`}, []string{"ghp_x"}},
		{"github/connections/c2", `{"config":{"installation_id":"2002"}}`,
			[]string{`"installation_id":"2002"`}, []string{"********"}},
		{"streak/connections/c3", `{"config":{"streakWebhookToken":"tok-1","streakWebhookKey":"k1"},"credentials":{"api_key":"key"}}`,
			[]string{`"streakWebhookToken":"********"`, `"streakWebhookKey":"k1"`, `"api_key":"********"`}, []string{"tok-1", `"key"`}},
	}
	for _, c := range cases {
		for _, method := range []string{"PUT", "GET"} {
			var body []byte
			if method == "PUT" {
				body = []byte(c.body)
			}
			st, b := do(t, method, base+c.path, body, nil)
			if st != 200 {
				t.Fatalf("%s %s: %d %s", method, c.path, st, b)
			}
			for _, s := range c.contains {
				if !strings.Contains(string(b), s) {
					t.Errorf("%s %s: %s lacks %s", method, c.path, b, s)
				}
			}
			for _, s := range c.absent {
				if strings.Contains(string(b), s) {
					t.Errorf("%s %s: %s shows %s", method, c.path, b, s)
				}
			}
		}
	}
}
