package main

import (
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Acceptance 3: SIGTERM under load from 16 concurrent senders. /readyz
// answers 503 before the listeners close, no connection is reset or
// refused during the delay, the process exits 0, and every acknowledged
// event is delivered after a restart.
func TestSigtermDrains(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess drain test")
	}
	const delay = 1500 * time.Millisecond
	bin := sharedBinary(t)
	dir := t.TempDir()
	sink := newCountSink(t, "app")
	sink.down.Store(true) // events stay pending: the restart delivers them
	p := runGateway(t, bin, "--data-dir", dir, "--shutdown-delay", delay.String(), "--shutdown-timeout", "3s")
	p.put(t, "prod", `{"webhook_urls":["`+sink.URL+`"],"webhook_secret":"app"}`)
	p.put(t, "prod/integrations/github", `{"provider":"github","webhook_secret":"gh"}`)
	p.put(t, "prod/integrations/github/connections/c1", `{"config":{"installation_id":1}}`)

	var mu sync.Mutex
	var acked []int
	type failure struct {
		at  time.Time
		err error
		st  int
	}
	var failures []failure
	var next atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Timeout: 5 * time.Second}
			for {
				select {
				case <-stop:
					return
				default:
				}
				n := int(next.Add(1))
				st, err := postGitHub(c, p.ingress, "gh", 1, n, 0)
				mu.Lock()
				if st == 200 {
					acked = append(acked, n)
				} else {
					failures = append(failures, failure{time.Now(), err, st})
				}
				mu.Unlock()
				if err != nil {
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	term := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var unready time.Duration
	for unready == 0 {
		st, _ := get("http://" + p.admin + "/readyz")
		switch {
		case st == 503:
			unready = time.Since(term)
		case st == 0 || time.Since(term) > delay:
			t.Fatalf("/readyz was not 503 before the listener closed (%d after %v)", st, time.Since(term))
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case <-p.exited:
	case <-time.After(delay + 10*time.Second):
		t.Fatal("the gateway did not exit within the delay and the shutdown timeout")
	}
	exited := time.Since(term)
	close(stop)
	wg.Wait()
	if p.err != nil {
		t.Fatalf("exit: %v, want 0", p.err)
	}
	mu.Lock()
	for _, f := range failures {
		if f.at.Sub(term) < delay {
			t.Fatalf("a request failed %v after SIGTERM, within the delay: status %d, %v", f.at.Sub(term), f.st, f.err)
		}
	}
	ns := append([]int(nil), acked...)
	mu.Unlock()
	t.Logf("/readyz 503 after %v; exit after %v; %d events acknowledged", unready, exited, len(ns))
	sink.down.Store(false)
	runGateway(t, bin, "--data-dir", dir)
	sink.waitAll(t, ns, 60*time.Second)
}
