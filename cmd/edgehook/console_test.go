package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgehook/edgehook/internal/testsink"
)

// The operator console (README "Console") and the admin routes it
// reads: /v1/stats, the delivery list's filters and recent deliveries,
// the bulk retry, and finding an event by its id or its provider's
// delivery id.

const consoleToken = "console-token-3f9a2c"

// consoleGateway is a gateway with an admin token, configured like
// testGateway.seed, forwarding to an app that fails while fail is set.
type consoleGateway struct {
	*testGateway
	app  *testsink.Sink
	fail *atomic.Bool
}

func startConsoleGateway(t *testing.T) *consoleGateway {
	t.Helper()
	fail := new(atomic.Bool)
	app := testsink.New(t, func(int, http.ResponseWriter) int {
		if fail.Load() {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	g := &consoleGateway{testGateway: startGateway(t, hookEtcd(t), t.TempDir(),
		"--admin-token", consoleToken, "--circuit-threshold", "1000"), app: app, fail: fail}
	for _, p := range []struct{ path, body string }{
		{"prod", `{"webhook_urls":["` + app.URL + `"],"webhook_secret":"` + obsEnvSecret + `"}`},
		{"prod/integrations/github", `{"provider":"github","webhook_secret":"` + obsIntegSecret + `"}`},
		{"prod/integrations/github/connections/c1", `{"config":{"installation_id":1001},"credentials":{"access_token":"ghs_consoleSecretToken"}}`},
		{"prod/integrations/github/connections/c2", `{"config":{"installation_id":2002}}`},
	} {
		if st, b := g.call(t, http.MethodPut, "/v1/environments/"+p.path, p.body); st != 200 {
			t.Fatalf("PUT %s: %d %s", p.path, st, b)
		}
	}
	return g
}

// call makes an admin request with the token.
func (g *consoleGateway) call(t *testing.T, method, path, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+g.admin+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+consoleToken)
	return roundTrip(t, req)
}

// get decodes a GET's JSON reply into v, failing the test unless 200.
func (g *consoleGateway) get(t *testing.T, path string, v any) {
	t.Helper()
	st, b := g.call(t, http.MethodGet, path, "")
	if st != 200 {
		t.Fatalf("GET %s: %d %s", path, st, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, b)
	}
}

type listed struct {
	Deliveries []struct {
		ID           string  `json:"id"`
		EventID      string  `json:"event_id"`
		Status       string  `json:"status"`
		Integration  string  `json:"integration"`
		ConnectionID *string `json:"connection_id"`
		Attempts     int     `json:"attempts"`
	} `json:"deliveries"`
	NextAfter string `json:"next_after"`
}

// deadLetters makes n events for installation inst fail until they are
// dead letters, and returns their delivery ids.
func (g *consoleGateway) deadLetters(t *testing.T, inst, n int, tag string) []string {
	t.Helper()
	g.fail.Store(true)
	defer g.fail.Store(false)
	for i := range n {
		if st, b := g.sendGitHub(t, obsIntegSecret, fmt.Sprintf(`{"installation":{"id":%d}}`, inst), fmt.Sprintf("%s-%d", tag, i), ""); st != 200 {
			t.Fatalf("webhook: %d %s", st, b)
		}
	}
	var ids []string
	eventually(t, 10*time.Second, "dead letters", func() bool {
		var l listed
		g.get(t, fmt.Sprintf("/v1/environments/prod/deliveries?status=dead&connection_id=c%d", inst/1000), &l)
		ids = ids[:0]
		for _, d := range l.Deliveries {
			ids = append(ids, d.ID)
		}
		return len(ids) == n
	})
	return ids
}

// Every console API call needs the token; the console's own files do not
// and carry no data; no reply shows a secret.
func TestConsoleAPIAuthAndSecrets(t *testing.T) {
	g := startConsoleGateway(t)
	g.sendGitHub(t, obsIntegSecret, `{"installation":{"id":1001}}`, "auth-1", "")
	paths := []string{
		"/v1/stats", "/v1/environments", "/v1/destinations", "/v1/environments/prod",
		"/v1/environments/prod/integrations", "/v1/environments/prod/integrations/github",
		"/v1/environments/prod/integrations/github/connections",
		"/v1/environments/prod/deliveries?status=delivered", "/v1/environments/prod/deliveries?status=dead",
		"/v1/environments/prod/deliveries?status=pending&integration=github&connection_id=c1",
		"/v1/environments/prod/integrations/github/events?provider_delivery_id=auth-1",
	}
	var recent listed
	eventually(t, 10*time.Second, "the event recently delivered", func() bool {
		g.get(t, "/v1/environments/prod/deliveries?status=delivered", &recent)
		return len(recent.Deliveries) == 1 && recent.Deliveries[0].Status == "delivered"
	})
	paths = append(paths, "/v1/environments/prod/events/"+recent.Deliveries[0].EventID,
		"/v1/environments/prod/deliveries/"+recent.Deliveries[0].ID)
	secrets := []string{consoleToken, obsEnvSecret, obsIntegSecret, "ghs_consoleSecretToken"}
	for _, p := range paths {
		req, _ := http.NewRequest(http.MethodGet, "http://"+g.admin+p, nil)
		if st, b := roundTrip(t, req); st != 401 {
			t.Errorf("GET %s without the token: %d %s; want 401", p, st, b)
		}
		req.Header.Set("Authorization", "Bearer wrong-"+consoleToken)
		if st, _ := roundTrip(t, req); st != 401 {
			t.Errorf("GET %s with a wrong token: %d; want 401", p, st)
		}
		st, b := g.call(t, http.MethodGet, p, "")
		if st != 200 {
			t.Errorf("GET %s: %d %s", p, st, b)
		}
		for _, s := range secrets {
			if strings.Contains(string(b), s) {
				t.Errorf("GET %s shows a secret: %s", p, b)
			}
		}
	}
	for _, p := range []string{"/v1/environments/prod/deliveries/retry", "/v1/environments/prod/deliveries/x/retry"} {
		req, _ := http.NewRequest(http.MethodPost, "http://"+g.admin+p, strings.NewReader(`{"ids":["x"]}`))
		if st, _ := roundTrip(t, req); st != 401 {
			t.Errorf("POST %s without the token: %d; want 401", p, st)
		}
	}
	for _, p := range []string{"/console/", "/console/app.js", "/console/app.css", "/console/hint"} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+g.admin+p, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") ||
			resp.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("GET %s: %d %v", p, resp.StatusCode, resp.Header)
		}
		_, b := roundTrip(t, req)
		for _, s := range secrets {
			if strings.Contains(string(b), s) {
				t.Errorf("%s shows a secret", p)
			}
		}
	}
}

// The delivery list filters by integration and connection and pages; a
// bulk retry retries the dead letters it names and says per id what
// became of each; bad bodies are 400.
func TestConsoleListsAndBulkRetry(t *testing.T) {
	g := startConsoleGateway(t)
	dead1 := g.deadLetters(t, 1001, 3, "c1")
	dead2 := g.deadLetters(t, 2002, 2, "c2")
	var all, page1, page2, none listed
	g.get(t, "/v1/environments/prod/deliveries?status=dead", &all)
	g.get(t, "/v1/environments/prod/deliveries?status=dead&connection_id=c1&limit=2", &page1)
	g.get(t, "/v1/environments/prod/deliveries?status=dead&connection_id=c1&limit=2&after="+page1.NextAfter, &page2)
	g.get(t, "/v1/environments/prod/deliveries?status=dead&integration=stripe", &none)
	if len(all.Deliveries) != 5 || len(page1.Deliveries) != 2 || page1.NextAfter == "" || len(page2.Deliveries) != 1 ||
		page2.NextAfter != "" || len(none.Deliveries) != 0 {
		t.Fatalf("lists: all %d, c1 pages %d+%d (next %q, %q), stripe %d",
			len(all.Deliveries), len(page1.Deliveries), len(page2.Deliveries), page1.NextAfter, page2.NextAfter, len(none.Deliveries))
	}
	for _, d := range append(page1.Deliveries, page2.Deliveries...) {
		if *d.ConnectionID != "c1" || d.Attempts != 3 {
			t.Fatalf("c1's dead letter: %+v", d)
		}
	}
	for _, body := range []string{``, `[]`, `{"ids":[]}`, `{"ids":[""]}`, `{"ids":"x"}`, `{"ids":["a"],"more":1}`, `{"ids":["a"]}{}`,
		`{"ids":[` + strings.Repeat(`"a",`, 100) + `"b"]}`} {
		if st, b := g.call(t, http.MethodPost, "/v1/environments/prod/deliveries/retry", body); st != 400 || !strings.Contains(string(b), `"code":"invalid"`) {
			t.Errorf("bulk retry of %q: %d %s; want 400", body, st, b)
		}
	}
	ids := append(append([]string{}, dead1...), dead2[0], "no-such-delivery", dead1[0])
	st, b := g.call(t, http.MethodPost, "/v1/environments/prod/deliveries/retry", `{"ids":["`+strings.Join(ids, `","`)+`"]}`)
	var res struct {
		Results []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
			Error  *struct {
				Code string `json:"code"`
			} `json:"error"`
		} `json:"results"`
	}
	if err := json.Unmarshal(b, &res); st != 200 || err != nil || len(res.Results) != 5 {
		t.Fatalf("bulk retry: %d %s", st, b)
	}
	for i, r := range res.Results {
		want := "pending"
		if r.ID == "no-such-delivery" {
			want = ""
			if r.Error == nil || r.Error.Code != "not_found" {
				t.Errorf("result %d: %+v; want not_found", i, r)
			}
		}
		if r.ID != ids[i] || r.Status != want {
			t.Errorf("result %d: %+v; want %s %q", i, r, ids[i], want)
		}
	}
	eventually(t, 10*time.Second, "the retried four delivered", func() bool {
		var left, recent listed
		g.get(t, "/v1/environments/prod/deliveries?status=dead", &left)
		g.get(t, "/v1/environments/prod/deliveries?status=delivered", &recent)
		return len(left.Deliveries) == 1 && left.Deliveries[0].ID == dead2[1] && len(recent.Deliveries) == 4
	})
}

// An event is found by its id and by its provider's delivery id, on
// whichever list its deliveries are; an unknown one is 404.
func TestConsoleFind(t *testing.T) {
	g := startConsoleGateway(t)
	dead := g.deadLetters(t, 1001, 1, "find-dead")
	g.sendGitHub(t, obsIntegSecret, `{"installation":{"id":2002}}`, "find-ok", "")
	type report struct {
		EventID    string `json:"event_id"`
		Deliveries []struct {
			ID      string `json:"id"`
			Status  string `json:"status"`
			History []struct {
				Status int `json:"status"`
			} `json:"attempts_history"`
		} `json:"deliveries"`
	}
	for _, c := range []struct{ key, status string }{{"find-dead-0", "dead"}, {"find-ok", "delivered"}} {
		var r, byID report
		eventually(t, 5*time.Second, "the delivered one in the journal", func() bool {
			g.get(t, "/v1/environments/prod/integrations/github/events?provider_delivery_id="+c.key, &r)
			return len(r.Deliveries) == 1 && r.Deliveries[0].Status == c.status
		})
		g.get(t, "/v1/environments/prod/events/"+r.EventID, &byID)
		if len(byID.Deliveries) != 1 || byID.Deliveries[0].ID != r.Deliveries[0].ID || len(byID.Deliveries[0].History) == 0 {
			t.Fatalf("%s by event id: %+v; by provider id %+v", c.key, byID, r)
		}
		if c.status == "dead" && (byID.Deliveries[0].ID != dead[0] || len(byID.Deliveries[0].History) != 3) {
			t.Fatalf("the dead letter: %+v", byID)
		}
	}
	for _, p := range []string{"/v1/environments/prod/events/nope", "/v1/environments/prod/integrations/github/events?provider_delivery_id=nope",
		"/v1/environments/prod/integrations/stripe/events?provider_delivery_id=find-ok", "/v1/environments/other/events/nope"} {
		if st, b := g.call(t, http.MethodGet, p, ""); st != 404 {
			t.Errorf("GET %s: %d %s; want 404", p, st, b)
		}
	}
	if st, _ := g.call(t, http.MethodGet, "/v1/environments/prod/integrations/github/events", ""); st != 400 {
		t.Errorf("no provider_delivery_id: %d; want 400", st)
	}
}
