package gateway_test

import (
	"strings"
	"testing"
	"time"
)

// Acceptance 6: two gateways on one etcd; a connection or secret changed
// through one is in force on the other within 1 s, including a negative
// cache entry turning positive.
func TestPropagation(t *testing.T) {
	etcd := startEtcd(t)
	a := startGateway(t, etcd, gwOpts{})
	b := startGateway(t, etcd, gwOpts{})
	s := newSink(t, nil)
	setupGitHub(t, a, s.URL)
	body := []byte(`{"installation":{"id":3003}}`)
	send := func(g *testGateway, secret string) (int, string) {
		st, resp := do(t, "POST", g.ingress+"/webhook/prod/github", body, ghHeaders(secret, body, ""))
		return st, string(resp)
	}
	// b caches the negative lookup for installation 3003.
	if st, resp := send(b, ghSecret); st != 200 || !strings.Contains(resp, `"connections":0`) {
		t.Fatalf("before: %d %s", st, resp)
	}
	a.put(t, "prod/integrations/github/connections/conn-3", `{"config":{"installation_id":3003}}`)
	within(t, time.Second, "new connection on b", func() bool {
		_, resp := send(b, ghSecret)
		return strings.Contains(resp, `"connections":1`)
	})
	// secret rotation through a is in force on b.
	a.put(t, "prod/integrations/github", `{"provider":"github","webhook_secret":"rotated"}`)
	within(t, time.Second, "rotated secret on b", func() bool {
		st, _ := send(b, "rotated")
		return st == 200
	})
	if st, _ := send(b, ghSecret); st != 401 {
		t.Fatalf("old secret still accepted on b: %d", st)
	}
	// deletion through b is in force on a.
	if st, _ := do(t, "DELETE", b.admin+"/v1/environments/prod/integrations/github/connections/conn-3", nil, nil); st != 204 {
		t.Fatalf("delete: %d", st)
	}
	within(t, time.Second, "deleted connection on a", func() bool {
		_, resp := send(a, "rotated")
		return strings.Contains(resp, `"connections":0`)
	})
}

// within polls cond until it holds, failing when limit passes first.
func within(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	start := time.Now()
	for {
		if cond() {
			t.Logf("%s in force after %v", what, time.Since(start).Round(time.Millisecond))
			return
		}
		if time.Since(start) > limit {
			t.Fatalf("%s not in force after %v", what, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
