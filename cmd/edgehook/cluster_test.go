package main

import (
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/edgehook/edgehook/internal/natstest"
)

// Scale-out acceptance (issue 12): three gateways on one etcd and a
// three-node JetStream cluster behind HAProxy, two layouts.
func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a cluster of processes")
	}
	haproxy := haproxyBin(t)
	bin := buildBinary(t)
	natsBin, err := natstest.BuildServer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Run("ingest-ingest-deliver", func(t *testing.T) {
		r := newRig(t, bin, natsBin, haproxy, "ingest", "ingest", "deliver")
		r.checkOnce(0, 1)
		r.checkTiers()
		r.checkDeadLetters()
		r.checkFaults(0)
	})
	t.Run("all-all-all", func(t *testing.T) {
		r := newRig(t, bin, natsBin, haproxy, "all", "all", "all")
		r.checkOnce(0, 2)
		r.checkIsolation()
		r.checkFaults(1)
	})
}

// checkOnce: a provider delivery id sent to two instances at once is
// forwarded once.
func (r *rig) checkOnce(a, b int) {
	t := r.t
	for k := range 5 {
		id := "twice-" + strconv.Itoa(k)
		var wg sync.WaitGroup
		var dups, oks int
		var mu sync.Mutex
		for _, i := range []int{a, b} {
			wg.Go(func() {
				st, dup := post(r.ingress[i], "prod", id, time.Now())
				mu.Lock()
				defer mu.Unlock()
				if st == 200 {
					oks++
				}
				if dup {
					dups++
				}
			})
		}
		wg.Wait()
		if oks != 2 || dups != 1 {
			t.Fatalf("%s sent to two instances: %d acknowledged, %d as duplicates; want 2 and 1", id, oks, dups)
		}
	}
	ids := []string{"twice-0", "twice-1", "twice-2", "twice-3", "twice-4"}
	eventually(t, 20*time.Second, "the events sent twice arrive", func() bool { return len(r.app.missing("/hook", ids)) == 0 })
	time.Sleep(time.Second)
	if n := r.app.duplicates("/hook", ids); n != 0 {
		t.Fatalf("%d of the events sent to two instances were forwarded twice", n)
	}
}

// checkTiers: with the deliver instance down, the ingest instances
// acknowledge and never forward; once it is back it drains what piled up.
func (r *rig) checkTiers() {
	t := r.t
	d := 2
	r.kill(d)
	var ids []string
	for k := range 40 {
		id := "tier-" + strconv.Itoa(k)
		if st, _ := post(r.lb, "prod", id, time.Now()); st != 200 {
			t.Fatalf("%s: %d with the deliver instance down", id, st)
		}
		ids = append(ids, id)
	}
	time.Sleep(3 * time.Second)
	if got := len(ids) - len(r.app.missing("/hook", ids)); got != 0 {
		t.Fatalf("the ingest instances forwarded %d events", got)
	}
	r.gws[d] = r.start(d)
	start := time.Now()
	eventually(t, 30*time.Second, "the deliver instance drains the backlog", func() bool { return len(r.app.missing("/hook", ids)) == 0 })
	t.Logf("the deliver instance drained %d events %v after its start", len(ids), time.Since(start).Round(time.Millisecond))
	if st, _ := post(r.ingress[d], "prod", "to-deliver", time.Now()); st != 503 {
		t.Fatalf("a webhook sent to the deliver instance: %d; want 503", st)
	}
}

type deliveryList struct {
	Deliveries []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	} `json:"deliveries"`
}

// checkDeadLetters: any instance lists every dead letter and retries any.
func (r *rig) checkDeadLetters() {
	t := r.t
	for k := range 3 {
		if st, _ := post(r.lb, "gone", "dead-"+strconv.Itoa(k), time.Now()); st != 200 {
			t.Fatalf("event to the gone app: %d", st)
		}
	}
	var list deliveryList
	eventually(t, 20*time.Second, "3 dead letters", func() bool {
		list = deliveryList{}
		admin(t, "GET", r.admin[0], "/v1/environments/gone/deliveries?status=dead", &list)
		return len(list.Deliveries) == 3
	})
	for i := range r.gws {
		var l deliveryList
		admin(t, "GET", r.admin[i], "/v1/environments/gone/deliveries?status=dead", &l)
		if len(l.Deliveries) != 3 {
			t.Fatalf("instance %d lists %d dead letters; want 3", i, len(l.Deliveries))
		}
	}
	for i, d := range list.Deliveries {
		if st := admin(t, "POST", r.admin[(i+1)%len(r.gws)], "/v1/environments/gone/deliveries/"+d.ID+"/retry", nil); st != 200 {
			t.Fatalf("retry of %s through instance %d: %d", d.ID, (i+1)%len(r.gws), st)
		}
		if st := admin(t, "GET", r.admin[i%len(r.gws)], "/v1/environments/gone/deliveries/"+d.ID, nil); st != 200 {
			t.Fatalf("get of %s through instance %d: %d", d.ID, i%len(r.gws), st)
		}
	}
	eventually(t, 20*time.Second, "every retried dead letter sent again", func() bool {
		for k := range 3 {
			if r.app.count("/gone", "dead-"+strconv.Itoa(k)) < 2 {
				return false
			}
		}
		return true
	})
}

// checkFaults: under load through HAProxy, kill -9 gateway g, then the
// NATS server leading the stream. Every acknowledged event is delivered
// (those g held in flight by another instance, after the stream's ack
// wait), acknowledgements resume within 20 s of losing the leader, and
// duplicates stay under 1 %.
func (r *rig) checkFaults(g int) {
	t := r.t
	l := startLoad(r.lb, "prod", fmt.Sprintf("load%d", g), 12, 5*time.Millisecond)
	time.Sleep(2 * time.Second)
	killedGW := time.Now()
	r.kill(g)
	time.Sleep(3 * time.Second)
	leader := r.nats.Leader("EDGEHOOK")
	if leader < 0 {
		t.Fatal("no stream leader found")
	}
	killedNATS := time.Now()
	r.nats.Kill(leader)
	time.Sleep(8 * time.Second)
	t.Logf("killed gateway %d, then nats server n%d (the stream leader); the leader now: n%d", g, leader+1, r.nats.Leader("EDGEHOOK")+1)
	acked, gap := l.end(killedNATS)
	l.mu.Lock()
	tries := l.tries
	l.mu.Unlock()
	t.Logf("%d events acknowledged (%d requests); the longest time without an acknowledgement after the stream leader was lost: %v",
		len(acked), tries, gap.Round(time.Millisecond))
	if gap > 20*time.Second {
		t.Errorf("acknowledgements stopped for %v after the stream leader was lost", gap)
	}
	var last time.Duration
	deadline := killedGW.Add(60 * time.Second)
	for {
		missing := r.app.missing("/hook", acked)
		if len(missing) == 0 {
			last = time.Since(killedGW)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged events not delivered 60s after the kill, e.g. %v", len(missing), len(acked), missing[:min(5, len(missing))])
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second)
	dups := r.app.duplicates("/hook", acked)
	t.Logf("every acknowledged event delivered %v after the gateway was killed; %d forwarded more than once (%.2f%%)",
		last.Round(time.Millisecond), dups, 100*float64(dups)/float64(len(acked)))
	if float64(dups) >= 0.01*float64(len(acked)) {
		t.Errorf("%d duplicates of %d events: over 1%%", dups, len(acked))
	}
	r.nats.Start(leader)
}

// checkIsolation: a destination that fails leaves another's end-to-end
// p50 as it was (ratio at most 1.2). The machine carries the same two
// loads in both measurements; only whether the second destination
// answers 200 or 500 changes.
func (r *rig) checkIsolation() {
	t := r.t
	measure := func(name string, failing bool) time.Duration {
		r.failing.fail.Store(failing)
		other := startLoad(r.lb, "fail", name+"-other", 4, 5*time.Millisecond)
		time.Sleep(2 * time.Second) // a failing circuit opens, its retries pile up
		r.app.takeLatency("/hook")
		l := startLoad(r.lb, "prod", name, 4, 20*time.Millisecond)
		time.Sleep(6 * time.Second)
		acked, _ := l.end(time.Now())
		other.end(time.Now())
		eventually(t, 20*time.Second, name+" delivered", func() bool { return len(r.app.missing("/hook", acked)) == 0 })
		lat := r.app.takeLatency("/hook")
		return lat[len(lat)/2]
	}
	healthy := measure("healthy", false)
	beside := measure("beside", true)
	r.failing.fail.Store(false)
	ratio := float64(beside) / float64(healthy)
	t.Logf("a destination's p50: %v beside a healthy one, %v beside a failing one (ratio %.2f)", healthy, beside, ratio)
	if ratio > 1.2 {
		t.Errorf("a failing destination raised another's p50 by %.2fx", ratio)
	}
}
