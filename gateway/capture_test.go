package gateway_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// eventuallyStatus repeats a request until it answers want (the cache
// picks a configuration change up within a second).
func eventuallyStatus(t *testing.T, want int, what string, req func() (*http.Response, []byte)) []byte {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		resp, b := req()
		if resp.StatusCode == want {
			return b
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d %s; want %d", what, resp.StatusCode, b, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// integrationSecret reads the stored integration through the admin API:
// whether it has a webhook_secret (shown masked).
func integrationSecret(t *testing.T, g *testGateway, path string) string {
	t.Helper()
	st, b := do(t, http.MethodGet, g.admin+"/v1/environments/"+path, nil, nil)
	var in struct {
		WebhookSecret string          `json:"webhook_secret"`
		Options       json.RawMessage `json:"options"`
	}
	if st != 200 || json.Unmarshal(b, &in) != nil {
		t.Fatalf("GET %s: %d %s", path, st, b)
	}
	return in.WebhookSecret
}

// Asana's unsigned X-Hook-Secret handshake, on an integration armed with
// capture_secret, is echoed and its secret stored as the integration's
// webhook_secret; later deliveries verify with it, and a second handshake
// is refused.
func TestAsanaHandshakeCapturesSecret(t *testing.T) {
	g := startGateway(t, startEtcd(t), gwOpts{})
	s := newSink(t, nil)
	g.put(t, "prod", `{"webhook_urls":["`+s.URL+`"],"webhook_secret":"`+appSecret+`"}`)
	g.put(t, "prod/integrations/asana", `{"provider":"asana","options":{"capture_secret":true}}`)
	url := g.ingress + "/webhook/prod/asana"
	heartbeat := []byte(`{"events":[]}`)
	const secret = "b537207f20cbfa02357cf448134da559e8bd39d61597dcd5631b8012eae53e81"
	signed := map[string]string{"Content-Type": "application/json",
		"X-Hook-Signature": "10468027b67df18c739cc4794c6fc2d2806dcaaf2259fc3e1ed9d26433659853"}

	if resp, b := send(t, "POST", url, heartbeat, signed); resp.StatusCode != 401 {
		t.Fatalf("delivery before the handshake: %d %s; want 401", resp.StatusCode, b)
	}
	resp, b := send(t, "POST", url, nil, map[string]string{"X-Hook-Secret": secret})
	if resp.StatusCode != 200 || resp.Header.Get("X-Hook-Secret") != secret || len(b) != 0 {
		t.Fatalf("handshake: %d X-Hook-Secret %q body %q; want 200 echoing the secret, empty body", resp.StatusCode, resp.Header.Get("X-Hook-Secret"), b)
	}
	if got := integrationSecret(t, g, "prod/integrations/asana"); got != "********" {
		t.Fatalf("stored webhook_secret shows %q; want it set (masked)", got)
	}
	ack := eventuallyStatus(t, 200, "delivery signed with the captured secret", func() (*http.Response, []byte) {
		return send(t, "POST", url, heartbeat, signed)
	})
	if !strings.Contains(string(ack), `"connections":0`) {
		t.Fatalf("ack %s", ack)
	}
	if f := decodeForward(t, s.Wait(t, 1, 5*time.Second)[0].Body); f.From != "asana" || f.ConnectionID != nil || string(f.Payload) != string(heartbeat) {
		t.Fatalf("forward %+v", f)
	}
	if resp, b := send(t, "POST", url, nil, map[string]string{"X-Hook-Secret": "another"}); resp.StatusCode != 401 || resp.Header.Get("X-Hook-Secret") != "" {
		t.Fatalf("second handshake: %d %s; want 401 without an echo", resp.StatusCode, b)
	}
	time.Sleep(200 * time.Millisecond)
	if n := s.Count(); n != 1 {
		t.Fatalf("sink got %d requests; want 1 (handshakes are never forwarded)", n)
	}
}

// An integration not armed for capture refuses the handshake: nothing is
// stored.
func TestAsanaHandshakeNotArmed(t *testing.T) {
	g := startGateway(t, startEtcd(t), gwOpts{})
	g.put(t, "prod", `{"webhook_urls":["https://app.example/h"]}`)
	g.put(t, "prod/integrations/asana", `{"provider":"asana","webhook_secret":"configured"}`)
	resp, b := send(t, "POST", g.ingress+"/webhook/prod/asana", nil, map[string]string{"X-Hook-Secret": "attacker"})
	if resp.StatusCode != 401 || resp.Header.Get("X-Hook-Secret") != "" {
		t.Fatalf("handshake: %d %s; want 401", resp.StatusCode, b)
	}
	st, body := do(t, http.MethodPut, g.admin+"/v1/environments/prod/integrations/asana2", []byte(`{"provider":"asana"}`), nil)
	if st != 400 {
		t.Fatalf("integration without secret or capture_secret: %d %s; want 400", st, body)
	}
}

// Notion's verification_token POST, on an armed integration, is answered
// 200 and stored; deliveries signed with it then route by workspace_id.
func TestNotionVerificationCapturesToken(t *testing.T) {
	g := startGateway(t, startEtcd(t), gwOpts{})
	s := newSink(t, nil)
	g.put(t, "prod", `{"webhook_urls":["`+s.URL+`"],"webhook_secret":"`+appSecret+`"}`)
	g.put(t, "prod/integrations/notion", `{"provider":"notion","options":{"capture_secret":true}}`)
	g.put(t, "prod/integrations/notion/connections/ws-one", `{"config":{"workspace_id":"ws_1"}}`)
	url := g.ingress + "/webhook/prod/notion"
	event := []byte(`{"id":"evt_n1","timestamp":"2023-11-14T22:13:20.000Z","workspace_id":"ws_1","type":"page.created","entity":{"id":"p1","type":"page"}}`)
	signed := map[string]string{"Content-Type": "application/json",
		"X-Notion-Signature": "sha256=efbb768d0a61901f80d2d070c47e8abcaa5f274355c17a1f47010579acc89b81"}

	resp, b := send(t, "POST", url, []byte(`{"verification_token":"secret_notion_verification_token"}`), map[string]string{"Content-Type": "application/json"})
	if resp.StatusCode != 200 || len(b) != 0 {
		t.Fatalf("verification: %d %q; want an empty 200", resp.StatusCode, b)
	}
	ack := eventuallyStatus(t, 200, "event signed with the captured token", func() (*http.Response, []byte) {
		return send(t, "POST", url, event, signed)
	})
	if !strings.Contains(string(ack), `"connections":1`) {
		t.Fatalf("ack %s", ack)
	}
	f := decodeForward(t, s.Wait(t, 1, 5*time.Second)[0].Body)
	if f.From != "notion" || f.ConnectionID == nil || *f.ConnectionID != "ws-one" || string(f.Payload) != string(event) {
		t.Fatalf("forward %+v", f)
	}
	if resp, b := send(t, "POST", url, event, signed); resp.StatusCode != 200 || !strings.Contains(string(b), `"duplicate":true`) {
		t.Fatalf("redelivery of evt_n1: %d %s; want a duplicate", resp.StatusCode, b)
	}
	if resp, _ := send(t, "POST", url, []byte(`{"verification_token":"secret_other"}`), nil); resp.StatusCode != 401 {
		t.Fatalf("second verification: %d; want 401", resp.StatusCode)
	}
}
