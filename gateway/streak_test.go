package gateway_test

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// Acceptance 2: a Streak array payload routes by X-Streak-Webhook-Token; an
// unknown token is 200 and the unmatched policy applies; no token is 401.
func TestStreakRouting(t *testing.T) {
	g := startGateway(t, startEtcd(t), gwOpts{})
	s := newSink(t, nil)
	g.put(t, "prod", `{"webhook_urls":["`+s.URL+`"],"webhook_secret":"`+appSecret+`","unmatched":"drop"}`)
	g.put(t, "prod/integrations/streak", `{"provider":"streak"}`)
	g.put(t, "prod/integrations/streak/connections/box-team", `{"config":{"streakWebhookToken":"tok-123"}}`)
	body := []byte(`[{"event":"BOX_CREATE","key":"agx1"},{"event":"BOX_CHANGE_STAGE","key":"agx2"}]`)
	st, resp := do(t, "POST", g.ingress+"/webhook/prod/streak", body, map[string]string{"X-Streak-Webhook-Token": "tok-123", "Content-Type": "application/json"})
	if st != 200 || !strings.Contains(string(resp), `"connections":1`) {
		t.Fatalf("matched: %d %s", st, resp)
	}
	f := decodeForward(t, s.Wait(t, 1, 5*time.Second)[0].Body)
	if f.From != "streak" || f.ConnectionID == nil || *f.ConnectionID != "box-team" || !bytes.Equal(f.Payload, body) {
		t.Fatalf("forward: %+v", f)
	}
	if st, resp := do(t, "POST", g.ingress+"/webhook/prod/streak", body, map[string]string{"X-Streak-Webhook-Token": "unknown"}); st != 200 || !strings.Contains(string(resp), `"connections":0`) {
		t.Fatalf("unknown token: %d %s", st, resp)
	}
	if st, _ := do(t, "POST", g.ingress+"/webhook/prod/streak", body, nil); st != 401 {
		t.Fatalf("missing token: %d, want 401", st)
	}
	time.Sleep(300 * time.Millisecond)
	if n := s.Count(); n != 1 {
		t.Fatalf("drop policy: sink got %d forwards, want 1", n)
	}
	// forward policy: the unknown token's event goes out with a null connection.
	g.put(t, "prod", `{"webhook_urls":["`+s.URL+`"],"webhook_secret":"`+appSecret+`"}`)
	time.Sleep(100 * time.Millisecond)
	do(t, "POST", g.ingress+"/webhook/prod/streak", body, map[string]string{"X-Streak-Webhook-Token": "unknown-2"})
	if f := decodeForward(t, s.Wait(t, 2, 5*time.Second)[1].Body); f.ConnectionID != nil {
		t.Fatalf("unmatched forward has a connection id")
	}
}
