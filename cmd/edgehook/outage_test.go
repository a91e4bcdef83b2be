package main

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Acceptance 2: a second gateway on the first's embedded etcd; the first
// is killed with -9. For 20 s the second answers 200 within 50 ms (p99)
// for connections it has cached, and delivers them, answers 503 quickly
// for one it has not, and /readyz stays 200; once etcd is back, a change
// made through it is in force on the second within 1 s.
func TestEtcdOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess etcd outage test")
	}
	bin := sharedBinary(t)
	etcdAddr := freeAddr(t)
	dirA := t.TempDir()
	a := runGateway(t, bin, "--data-dir", dirA, "--embedded-etcd-listen", etcdAddr)
	b := runGateway(t, bin, "--data-dir", t.TempDir(), "--etcd", "http://"+etcdAddr)
	sink := newCountSink(t, "app")
	a.put(t, "prod", `{"webhook_urls":["`+sink.URL+`"],"webhook_secret":"app"}`)
	a.put(t, "prod/integrations/github", `{"provider":"github","webhook_secret":"gh"}`)
	a.put(t, "prod/integrations/github/connections/c1", `{"config":{"installation_id":1}}`)
	a.put(t, "prod/integrations/github/connections/c2", `{"config":{"installation_id":2}}`)
	c := &http.Client{Timeout: 5 * time.Second}
	n := 0
	var acked []int
	send := func(g *faultProc, inst int) (int, time.Duration) {
		n++
		start := time.Now()
		st, err := postGitHub(c, g.ingress, "gh", inst, n, 0)
		if err != nil {
			t.Fatalf("event %d to %s: %v", n, g.ingress, err)
		}
		if st == 200 {
			acked = append(acked, n)
		}
		return st, time.Since(start)
	}
	if st, _ := send(b, 1); st != 200 { // warms b's cache for installation 1
		t.Fatalf("before the outage: %d", st)
	}

	a.cmd.Process.Signal(syscall.SIGKILL)
	<-a.exited
	var lat []time.Duration
	var mu sync.Mutex
	readyFailed := 0
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // /readyz of b, every 200 ms
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
			if st, _ := get("http://" + b.admin + "/readyz"); st != 200 {
				mu.Lock()
				readyFailed++
				mu.Unlock()
			}
		}
	}()
	end := time.Now().Add(20 * time.Second)
	for i := 0; time.Now().Before(end); i++ {
		st, d := send(b, 1)
		if st != 200 {
			t.Fatalf("cached connection during the outage: %d after %v", st, time.Since(end.Add(-20*time.Second)))
		}
		lat = append(lat, d)
		if i%20 == 0 {
			st, d := send(b, 2) // never looked up by b
			if st != 503 || d > 1500*time.Millisecond {
				t.Fatalf("uncached connection during the outage: %d in %v, want 503 quickly", st, d)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(stop)
	<-done
	slices.Sort(lat)
	if p99 := lat[len(lat)*99/100]; p99 > 50*time.Millisecond {
		t.Fatalf("cached connections answered with p99 %v during the outage, want ≤ 50ms", p99)
	}
	if readyFailed > 0 {
		t.Fatalf("/readyz of the second gateway failed %d times during the outage", readyFailed)
	}
	st, body := get("http://" + b.admin + "/readyz?verbose=1")
	var v struct {
		Watch struct {
			InForce bool `json:"in_force"`
		} `json:"config_watch"`
		Etcd bool `json:"etcd_reachable"`
	}
	if st != 200 || json.Unmarshal(body, &v) != nil || v.Watch.InForce || v.Etcd {
		t.Fatalf("/readyz?verbose=1 during the outage: %d %s; want 200 showing the outage", st, body)
	}
	st, body = get("http://" + b.admin + "/metrics")
	if st != 200 || !strings.Contains(string(body), "\nedgehook_etcd_up 0\n") || strings.Contains(string(body), "\nedgehook_config_stale_seconds 0\n") {
		t.Fatalf("/metrics during the outage: %d; want edgehook_etcd_up 0 and edgehook_config_stale_seconds above 0", st)
	}
	sink.waitAll(t, acked, 30*time.Second)

	// etcd returns with the first gateway.
	a = runGateway(t, bin, "--data-dir", dirA, "--embedded-etcd-listen", etcdAddr)
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, body := get("http://" + b.admin + "/readyz?verbose=1")
		if json.Unmarshal(body, &v) == nil && v.Watch.InForce {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the second gateway's watch not in force 15s after etcd returned: %s", body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	a.put(t, "prod/integrations/github/connections/c3", `{"config":{"installation_id":3}}`)
	changed := time.Now()
	for {
		n++
		st, body, err := postGitHubReply(c, b.ingress, "gh", 3, n)
		if err != nil {
			t.Fatal(err)
		}
		if st == 200 {
			acked = append(acked, n)
		}
		if strings.Contains(string(body), `"connections":1`) {
			break
		}
		if time.Since(changed) > time.Second {
			t.Fatalf("a change made after etcd returned was not in force on the second gateway within 1s: %d %s", st, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	sink.waitAll(t, acked, 30*time.Second)
}
