package gateway_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// Acceptance 2: a Streak array payload routes by X-Streak-Webhook-Token; no
// token is 401. An unknown token is answered exactly like a known one and
// dropped, whatever the unmatched policy (SPEC §3, §7).
func TestStreakRouting(t *testing.T) {
	g := startGateway(t, startEtcd(t), gwOpts{})
	s := newSink(t, nil)
	g.put(t, "prod", `{"webhook_urls":["`+s.URL+`"],"webhook_secret":"`+appSecret+`","unmatched":"drop"}`)
	g.put(t, "prod/integrations/streak", `{"provider":"streak"}`)
	g.put(t, "prod/integrations/streak/connections/box-team", `{"config":{"streakWebhookToken":"tok-123"}}`)
	body := []byte(`[{"event":"BOX_CREATE","key":"agx1"},{"event":"BOX_CHANGE_STAGE","key":"agx2"}]`)
	st, known := do(t, "POST", g.ingress+"/webhook/prod/streak", body, map[string]string{"X-Streak-Webhook-Token": "tok-123", "Content-Type": "application/json"})
	if st != 200 || !streakReply(known) {
		t.Fatalf("matched: %d %s", st, known)
	}
	f := decodeForward(t, s.Wait(t, 1, 5*time.Second)[0].Body)
	if f.From != "streak" || f.ConnectionID == nil || *f.ConnectionID != "box-team" || !bytes.Equal(f.Payload, body) {
		t.Fatalf("forward: %+v", f)
	}
	if st, _ := do(t, "POST", g.ingress+"/webhook/prod/streak", body, nil); st != 401 {
		t.Fatalf("missing token: %d, want 401", st)
	}
	for _, env := range []string{`"unmatched":"drop"`, `"unmatched":"forward"`} {
		g.put(t, "prod", `{"webhook_urls":["`+s.URL+`"],"webhook_secret":"`+appSecret+`",`+env+`}`)
		time.Sleep(100 * time.Millisecond)
		st, unknown := do(t, "POST", g.ingress+"/webhook/prod/streak", body, map[string]string{"X-Streak-Webhook-Token": "unknown"})
		if st != 200 || !streakReply(unknown) {
			t.Fatalf("unknown token (%s): %d %s, want the reply of a known one", env, st, unknown)
		}
	}
	time.Sleep(300 * time.Millisecond)
	if n := s.Count(); n != 1 {
		t.Fatalf("sink got %d forwards, want the known token's alone", n)
	}
	if n := g.gw.UnknownCredentials(); n != 2 {
		t.Fatalf("%d unknown tokens counted, want 2", n)
	}
}

// streakReply reports whether b is {"id":"<event id>"} and nothing else.
func streakReply(b []byte) bool {
	var m map[string]any
	if json.Unmarshal(b, &m) != nil || len(m) != 1 {
		return false
	}
	id, ok := m["id"].(string)
	return ok && len(id) > 10
}
