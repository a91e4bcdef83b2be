package gateway_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const (
	appSecret = "app-secret"
	ghSecret  = "gh-secret"
)

// setupGitHub configures env "prod" forwarding to url, a github integration
// and connections conn-1 (installation 1001, as a number) and conn-2
// (installation "2002", as a string).
func setupGitHub(t *testing.T, g *testGateway, url string) {
	t.Helper()
	g.put(t, "prod", `{"webhook_urls":["`+url+`"],"webhook_secret":"`+appSecret+`"}`)
	g.put(t, "prod/integrations/github", `{"provider":"github","webhook_secret":"`+ghSecret+`"}`)
	g.put(t, "prod/integrations/github/connections/conn-1", `{"config":{"installation_id":1001}}`)
	g.put(t, "prod/integrations/github/connections/conn-2", `{"config":{"installation_id":"2002"}}`)
}

func ghHeaders(secret string, body []byte, delivery string) map[string]string {
	return map[string]string{
		"Content-Type":        "application/json",
		"X-GitHub-Event":      "issues",
		"X-GitHub-Delivery":   delivery,
		"X-Hub-Signature-256": githubSig(secret, body),
		"Authorization":       "Bearer must-not-pass",
	}
}

// Acceptance 1: a signed GitHub delivery reaches the sink as the SPEC §6
// body with the right connectionId and a verifiable X-Nango-Hmac-Sha256.
func TestGitHubForward(t *testing.T) {
	g := startGateway(t, startEtcd(t), gwOpts{})
	s := newSink(t, nil)
	setupGitHub(t, g, s.URL)
	body := []byte(`{"action":"opened","installation":{"id":1001},"issue":{"number":7,"title":"caf\u00e9"}}`)
	st, resp := do(t, "POST", g.ingress+"/webhook/prod/github", body, ghHeaders(ghSecret, body, "d-1"))
	if st != 200 {
		t.Fatalf("status %d: %s", st, resp)
	}
	var ack struct {
		ID          string `json:"id"`
		Connections int    `json:"connections"`
	}
	if err := json.Unmarshal(resp, &ack); err != nil || ack.ID == "" || ack.Connections != 1 {
		t.Fatalf("ack %s (%v)", resp, err)
	}
	got := s.Wait(t, 1, 5*time.Second)[0]
	f := decodeForward(t, got.Body)
	if f.From != "github" || f.Type != "forward" || f.ProviderConfigKey != "github" || f.ConnectionID == nil || *f.ConnectionID != "conn-1" {
		t.Fatalf("forward envelope: %s", got.Body)
	}
	if !bytes.Equal(f.Payload, body) {
		t.Fatalf("payload re-encoded:\n got %s\nwant %s", f.Payload, body)
	}
	if sig := got.Header.Get("X-Nango-Hmac-Sha256"); sig != nangoHMAC(appSecret, got.Body) {
		t.Fatalf("X-Nango-Hmac-Sha256 %q does not verify", sig)
	}
	if got.Header.Get("Content-Type") != "application/json" || got.Header.Get("X-Edgehook-Attempt") != "1" {
		t.Fatalf("headers: %v", got.Header)
	}
	if got.Header.Get("X-Github-Event") != "issues" || got.Header.Get("Authorization") != "" {
		t.Fatalf("passthrough headers wrong: %v", got.Header)
	}
	if got.Header.Get("webhook-id") == "" || got.Header.Get("traceparent") == "" {
		t.Fatalf("standard webhook headers missing: %v", got.Header)
	}
}

// Acceptance 1, negative: nothing unauthentic reaches the sink.
func TestGitHubRejects(t *testing.T) {
	g := startGateway(t, startEtcd(t), gwOpts{})
	s := newSink(t, nil)
	setupGitHub(t, g, s.URL)
	body := []byte(`{"installation":{"id":1001}}`)
	good := ghHeaders(ghSecret, body, "d-2")
	cases := []struct {
		name   string
		body   []byte
		header map[string]string
	}{
		{"tampered body", []byte(`{"installation":{"id":1002}}`), good},
		{"wrong secret", body, ghHeaders("other", body, "d-3")},
		{"missing signature", body, map[string]string{"Content-Type": "application/json"}},
		{"malformed signature", body, map[string]string{"X-Hub-Signature-256": "sha256=zz"}},
		{"empty signature", body, map[string]string{"X-Hub-Signature-256": ""}},
		{"wrong prefix", body, map[string]string{"X-Hub-Signature-256": strings.Replace(good["X-Hub-Signature-256"], "sha256=", "sha1=", 1)}},
		{"truncated signature", body, map[string]string{"X-Hub-Signature-256": good["X-Hub-Signature-256"][:40]}},
	}
	for _, c := range cases {
		st, resp := do(t, "POST", g.ingress+"/webhook/prod/github", c.body, c.header)
		if st != 401 || !strings.Contains(string(resp), `"code":"unauthorized"`) {
			t.Errorf("%s: %d %s, want 401 JSON error", c.name, st, resp)
		}
	}
	time.Sleep(300 * time.Millisecond)
	if n := s.Count(); n != 0 {
		t.Fatalf("sink got %d forwards of unauthentic requests", n)
	}
}

func TestIngressStatuses(t *testing.T) {
	g := startGateway(t, startEtcd(t), gwOpts{maxBody: 4096})
	s := newSink(t, nil)
	setupGitHub(t, g, s.URL)
	g.put(t, "prod/integrations/small", `{"provider":"github","webhook_secret":"x","max_body":64}`)
	big := bytes.Repeat([]byte("a"), 5000)
	mid := []byte(`{"installation":{"id":1001},"pad":"` + strings.Repeat("b", 100) + `"}`)
	cases := []struct {
		name   string
		path   string
		body   []byte
		header map[string]string
		want   int
	}{
		{"unknown env", "/webhook/nope/github", mid, nil, 404},
		{"unknown integration", "/webhook/prod/nope", mid, nil, 404},
		{"bad path", "/webhook/prod", mid, nil, 404},
		{"over --max-body", "/webhook/prod/github", big, ghHeaders(ghSecret, big, "x"), 413},
		{"over integration max_body", "/webhook/prod/small", mid, ghHeaders("x", mid, "y"), 413},
		{"not JSON", "/webhook/prod/github", []byte("not json"), ghHeaders(ghSecret, []byte("not json"), "z"), 400},
	}
	for _, c := range cases {
		if st, resp := do(t, "POST", g.ingress+c.path, c.body, c.header); st != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, st, resp, c.want)
		}
	}
	if st, _ := do(t, "GET", g.ingress+"/healthz", nil, nil); st != 200 {
		t.Errorf("healthz %d", st)
	}
	if st, _ := do(t, "GET", g.admin+"/readyz", nil, nil); st != 200 {
		t.Errorf("readyz %d", st)
	}
}

func TestDuplicateDelivery(t *testing.T) {
	g := startGateway(t, startEtcd(t), gwOpts{})
	s := newSink(t, nil)
	setupGitHub(t, g, s.URL)
	body := []byte(`{"installation":{"id":1001}}`)
	h := ghHeaders(ghSecret, body, "same-delivery")
	_, first := do(t, "POST", g.ingress+"/webhook/prod/github", body, h)
	st, second := do(t, "POST", g.ingress+"/webhook/prod/github", body, h)
	var a, b map[string]any
	json.Unmarshal(first, &a)
	json.Unmarshal(second, &b)
	if st != 200 || b["duplicate"] != true || a["id"] != b["id"] {
		t.Fatalf("duplicate: %d %s after %s", st, second, first)
	}
	s.Wait(t, 1, 5*time.Second)
	time.Sleep(300 * time.Millisecond)
	if n := s.Count(); n != 1 {
		t.Fatalf("sink got %d forwards, want 1", n)
	}
}

// Several keys of one event matching the same connection forward once; a
// connection with webhook_url_override goes there instead.
func TestUnmatchedPolicies(t *testing.T) {
	g := startGateway(t, startEtcd(t), gwOpts{})
	s := newSink(t, nil)
	setupGitHub(t, g, s.URL)
	body := []byte(`{"installation":{"id":999}}`)
	st, resp := do(t, "POST", g.ingress+"/webhook/prod/github", body, ghHeaders(ghSecret, body, "u-1"))
	if st != 200 || !strings.Contains(string(resp), `"connections":0`) {
		t.Fatalf("unmatched: %d %s", st, resp)
	}
	f := decodeForward(t, s.Wait(t, 1, 5*time.Second)[0].Body)
	if f.ConnectionID != nil {
		t.Fatalf("unmatched forward has connectionId %q, want null", *f.ConnectionID)
	}
	g.put(t, "prod", `{"webhook_urls":["`+s.URL+`"],"webhook_secret":"`+appSecret+`","unmatched":"drop"}`)
	time.Sleep(200 * time.Millisecond)
	st, resp = do(t, "POST", g.ingress+"/webhook/prod/github", body, ghHeaders(ghSecret, body, "u-2"))
	if st != 200 || !strings.Contains(string(resp), `"connections":0`) {
		t.Fatalf("dropped: %d %s", st, resp)
	}
	time.Sleep(300 * time.Millisecond)
	if n := s.Count(); n != 1 {
		t.Fatalf("dropped event was forwarded (%d)", n)
	}
}

// postSigned posts body to prod/github signed with ghSecret and returns
// the response, its body read and closed.
func postSigned(t *testing.T, g *testGateway, body []byte) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", g.ingress+"/webhook/prod/github", bytes.NewReader(body))
	for k, v := range ghHeaders(ghSecret, body, "") {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestSpoolSaturated(t *testing.T) {
	g := startGateway(t, startEtcd(t), gwOpts{maxPending: 1})
	s := newSink(t, func(int, http.ResponseWriter) int { return 500 })
	setupGitHub(t, g, s.URL)
	var saw503 bool
	for i := 0; i < 5 && !saw503; i++ {
		resp := postSigned(t, g, []byte(`{"installation":{"id":1001},"n":`+string(rune('0'+i))+`}`))
		if resp.StatusCode == 503 {
			saw503 = true
			if resp.Header.Get("Retry-After") == "" {
				t.Fatal("503 without Retry-After")
			}
		}
	}
	if !saw503 {
		t.Fatal("a saturated spool never answered 503")
	}
}

// Past the spool's byte budget ingress answers 503 with Retry-After and
// stores nothing; once deliveries free their bytes it answers 200 again,
// and every acknowledged event is delivered.
func TestSpoolByteBudget(t *testing.T) {
	var up atomic.Bool
	g := startGateway(t, startEtcd(t), gwOpts{maxBytes: 512 << 10, circuitCooldown: 100 * time.Millisecond,
		schedule: []time.Duration{50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond, time.Second}})
	s := newSink(t, func(int, http.ResponseWriter) int {
		if up.Load() {
			return 200
		}
		return 500
	})
	setupGitHub(t, g, s.URL)
	pad := strings.Repeat("x", 64<<10)
	post := func(i int) *http.Response {
		return postSigned(t, g, []byte(`{"installation":{"id":1001},"n":`+strconv.Itoa(i)+`,"pad":"`+pad+`"}`))
	}
	acked, full := 0, false
	for i := 0; i < 40 && !full; i++ {
		switch resp := post(i); resp.StatusCode {
		case 200:
			acked++
		case 503:
			full = true
			if resp.Header.Get("Retry-After") == "" {
				t.Fatal("503 without Retry-After")
			}
		default:
			t.Fatalf("event %d: %d, want 200 or 503", i, resp.StatusCode)
		}
	}
	if !full || acked == 0 {
		t.Fatalf("%d acknowledged, full %v: want some acknowledged, then 503 past the budget", acked, full)
	}
	if st := g.svc.Stats(); st.Bytes > st.MaxBytes {
		t.Fatalf("spool holds %d bytes, over its budget %d", st.Bytes, st.MaxBytes)
	}
	up.Store(true)
	eventually(t, 10*time.Second, "200 again once deliveries freed the spool", func() bool { return post(100).StatusCode == 200 })
	eventually(t, 10*time.Second, "every acknowledged event delivered", func() bool { return g.svc.Stats().Pending == 0 })
	if st := g.svc.Stats(); st.Dead != 0 {
		t.Fatalf("%d dead letters; every acknowledged event should have been delivered", st.Dead)
	}
}

// dedupe_window "0s" turns duplicate detection off.
func TestDedupeWindowZero(t *testing.T) {
	g := startGateway(t, startEtcd(t), gwOpts{})
	s := newSink(t, nil)
	setupGitHub(t, g, s.URL)
	g.put(t, "prod/integrations/github", `{"provider":"github","webhook_secret":"`+ghSecret+`","dedupe_window":"0s"}`)
	time.Sleep(200 * time.Millisecond)
	body := []byte(`{"installation":{"id":1001}}`)
	h := ghHeaders(ghSecret, body, "same-delivery")
	for range 2 {
		if st, resp := do(t, "POST", g.ingress+"/webhook/prod/github", body, h); st != 200 || strings.Contains(string(resp), "duplicate") {
			t.Fatalf("%d %s", st, resp)
		}
	}
	s.Wait(t, 2, 5*time.Second)
}
