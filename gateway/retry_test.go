package gateway_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// sendGitHub posts a signed GitHub event for installation inst to g.
func sendGitHub(t *testing.T, g *testGateway, inst int, extra string) {
	t.Helper()
	body := []byte(`{"installation":{"id":` + strconv.Itoa(inst) + `}` + extra + `}`)
	if st, resp := do(t, "POST", g.ingress+"/webhook/prod/github", body, ghHeaders(ghSecret, body, "")); st != 200 {
		t.Fatalf("ingest: %d %s", st, resp)
	}
}

// deliveries lists environment prod's deliveries with the given status.
func (g *testGateway) deliveries(t *testing.T, status string) []map[string]any {
	t.Helper()
	st, b := do(t, "GET", g.admin+"/v1/environments/prod/deliveries?status="+status, nil, nil)
	var out struct{ Deliveries []map[string]any }
	if st != 200 || json.Unmarshal(b, &out) != nil {
		t.Fatalf("list %s: %d %s", status, st, b)
	}
	return out.Deliveries
}

// Acceptance 4a: a sink that fails twice then succeeds gets exactly one
// success; attempts are numbered from 1 and share one webhook-id.
func TestRetryUntilSuccess(t *testing.T) {
	g := startGateway(t, startEtcd(t), gwOpts{})
	s := newSink(t, func(n int, _ http.ResponseWriter) int {
		if n <= 2 {
			return 500
		}
		return 200
	})
	setupGitHub(t, g, s.URL)
	sendGitHub(t, g, 1001, "")
	got := s.Wait(t, 3, 5*time.Second)
	time.Sleep(400 * time.Millisecond) // longer than the whole schedule
	if n := s.Count(); n != 3 {
		t.Fatalf("sink got %d requests, want 3 (2 failures, 1 success)", n)
	}
	for i, r := range got {
		if a := r.Header.Get("X-Edgehook-Attempt"); a != strconv.Itoa(i+1) {
			t.Errorf("request %d has attempt %q", i+1, a)
		}
		if r.Header.Get("webhook-id") != got[0].Header.Get("webhook-id") {
			t.Errorf("request %d has another webhook-id", i+1)
		}
	}
	if l := g.deliveries(t, "pending"); len(l) != 0 {
		t.Fatalf("delivered event still pending: %v", l)
	}
}

// Acceptance 4b: a Retry-After: 2 reply replaces that step's 50ms delay.
func TestRetryAfter(t *testing.T) {
	g := startGateway(t, startEtcd(t), gwOpts{})
	s := newSink(t, func(n int, w http.ResponseWriter) int {
		if n == 1 {
			w.Header().Set("Retry-After", "2")
			return 503
		}
		return 200
	})
	setupGitHub(t, g, s.URL)
	sendGitHub(t, g, 1001, "")
	got := s.Wait(t, 2, 5*time.Second)
	if gap := got[1].At.Sub(got[0].At); gap < 1900*time.Millisecond || gap > 3500*time.Millisecond {
		t.Fatalf("second attempt %v after the first, want about 2s", gap)
	}
}

// Acceptance 4c: 410 ends the delivery as gone, listed with the dead
// letters, after exactly one attempt.
func TestGoneStopsRetries(t *testing.T) {
	g := startGateway(t, startEtcd(t), gwOpts{})
	s := newSink(t, func(int, http.ResponseWriter) int { return 410 })
	setupGitHub(t, g, s.URL)
	sendGitHub(t, g, 1001, "")
	s.Wait(t, 1, 5*time.Second)
	time.Sleep(400 * time.Millisecond)
	if n := s.Count(); n != 1 {
		t.Fatalf("sink got %d requests after a 410, want 1", n)
	}
	dead := g.deliveries(t, "dead")
	if len(dead) != 1 || dead[0]["status"] != "gone" || dead[0]["last_status"] != 410.0 {
		t.Fatalf("dead letters: %v", dead)
	}
}

// Acceptance 4d: after the last scheduled attempt the delivery is a dead
// letter; the admin retry delivers it.
func TestDeadLetterAndAdminRetry(t *testing.T) {
	g := startGateway(t, startEtcd(t), gwOpts{})
	s := newSink(t, func(n int, _ http.ResponseWriter) int {
		if n <= 3 {
			return 503
		}
		return 200
	})
	setupGitHub(t, g, s.URL)
	sendGitHub(t, g, 1001, "")
	s.Wait(t, 3, 5*time.Second) // the first attempt and the two scheduled retries
	var dead []map[string]any
	within(t, 2*time.Second, "dead letter listed", func() bool {
		dead = g.deliveries(t, "dead")
		return len(dead) == 1
	})
	if dead[0]["status"] != "dead" || dead[0]["attempts"] != 3.0 || dead[0]["connection_id"] != "conn-1" {
		t.Fatalf("dead letter: %v", dead[0])
	}
	time.Sleep(200 * time.Millisecond)
	if s.Count() != 3 {
		t.Fatalf("a dead letter was attempted again (%d requests)", s.Count())
	}
	id := dead[0]["id"].(string)
	if st, b := do(t, "POST", g.admin+"/v1/environments/other/deliveries/"+id+"/retry", nil, nil); st != 404 {
		t.Fatalf("retry through another environment: %d %s", st, b)
	}
	if st, b := do(t, "POST", g.admin+"/v1/environments/prod/deliveries/"+id+"/retry", nil, nil); st != 200 {
		t.Fatalf("retry: %d %s", st, b)
	}
	got := s.Wait(t, 4, 5*time.Second)
	if got[3].Header.Get("webhook-id") != id || got[3].Header.Get("X-Edgehook-Attempt") != "4" {
		t.Fatalf("retried delivery: id %q attempt %q", got[3].Header.Get("webhook-id"), got[3].Header.Get("X-Edgehook-Attempt"))
	}
	within(t, 2*time.Second, "dead letter gone", func() bool { return len(g.deliveries(t, "dead")) == 0 })
	if st, _ := do(t, "POST", g.admin+"/v1/environments/prod/deliveries/"+id+"/retry", nil, nil); st != 404 {
		t.Fatalf("retry of a delivered delivery: %d", st)
	}
}
