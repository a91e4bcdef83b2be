package scheduler

import (
	"io"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/edgehook/edgehook/delivery/spool"
)

// The tests run the real scheduler over the real spool; only the
// destinations are played by the attempt function: each leases one
// delivery, waits as its destination would and records the outcome.

var testLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// behaviour is how a played destination answers.
type behaviour struct {
	delay   time.Duration
	healthy bool
}

type rig struct {
	t     *testing.T
	sp    spool.Spool
	s     *Scheduler
	mu    sync.Mutex
	dests map[string]behaviour
	log   []grantLog
	evs   int
}

type grantLog struct {
	dest string
	at   time.Time
	id   string
}

func newRig(t *testing.T, o Options) *rig {
	r := &rig{t: t, dests: map[string]behaviour{}}
	sp, err := spool.Open(spool.Options{Dir: "/spool", FS: vfs.NewMem(), Logger: testLog, MaxBytes: 1 << 30, MinFree: 1})
	if err != nil {
		t.Fatal(err)
	}
	r.sp = sp
	o.Logger = testLog
	if r.s, err = New(sp, r.attempt, o); err != nil {
		t.Fatal(err)
	}
	r.s.Start()
	t.Cleanup(func() {
		r.s.Stop(10 * time.Second)
		sp.Close()
	})
	return r
}

func (r *rig) attempt(dest string) Report {
	now := time.Now()
	ds, _, err := r.sp.Lease(dest, now, 1, time.Minute)
	if err != nil {
		return Report{Local: true, Error: err.Error()}
	}
	if len(ds) == 0 {
		return Report{Empty: true}
	}
	d := ds[0]
	r.mu.Lock()
	b := r.dests[dest]
	r.log = append(r.log, grantLog{dest: dest, at: now, id: d.ID})
	r.mu.Unlock()
	time.Sleep(b.delay)
	a := spool.Attempt{At: now, Duration: time.Since(now), Status: 200}
	if !b.healthy {
		a.Status = 503
		r.sp.Reschedule(d, a, time.Now().Add(time.Hour))
	} else {
		r.sp.Ack(d, a, nil)
	}
	return Report{Healthy: b.healthy, Latency: a.Duration}
}

// add appends n deliveries for dest, which behaves as b, and announces
// them.
func (r *rig) add(dest string, b behaviour, n int) {
	r.mu.Lock()
	r.dests[dest] = b
	r.mu.Unlock()
	now := time.Now()
	for range n {
		r.evs++
		ev := "ev" + strconv.Itoa(r.evs)
		_, err := r.sp.Append(&spool.Batch{EventID: ev, Bodies: []spool.BodyIn{{Payload: []byte("{}")}},
			Deliveries: []*spool.Delivery{{ID: ev, EventID: ev, Env: "prod", URL: dest + "/h", Dest: dest, Created: now, Due: now}}})
		if err != nil {
			r.t.Fatal(err)
		}
	}
	r.s.Notify(dest, now)
}

// grants returns the grants made so far.
func (r *rig) grants() []grantLog {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]grantLog(nil), r.log...)
}

func (r *rig) waitGrants(n int, d time.Duration) []grantLog {
	r.t.Helper()
	deadline := time.Now().Add(d)
	for {
		if g := r.grants(); len(g) >= n {
			return g
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("%d grants after %v, want %d", len(r.grants()), d, n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Destinations with backlogs are served in turn: over any stretch of
// grants, no destination gets far more than another. The pool (2 workers)
// is smaller than the number of destinations, so at every free slot the
// scheduler chooses among several ready destinations and the order is its
// policy, not the order in which replies happen to come back.
func TestRoundRobin(t *testing.T) {
	r := newRig(t, Options{Workers: 2, PerDest: 1})
	dests := []string{"http://a:80", "http://b:80", "http://c:80", "http://d:80"}
	for _, d := range dests {
		r.add(d, behaviour{delay: 2 * time.Millisecond, healthy: true}, 30)
	}
	g := r.waitGrants(120, 10*time.Second)
	// The destinations are added one after another, so the first ones may
	// take grants alone; fairness is judged from the moment the last has
	// work, over the grants made while all four still had some.
	start := 0
	for start < len(g) && g[start].dest != dests[len(dests)-1] {
		start++
	}
	total := map[string]int{}
	for _, gl := range g[:start] {
		total[gl.dest]++
	}
	count := map[string]int{}
	for i, gl := range g[start:] {
		count[gl.dest]++
		if total[gl.dest]++; total[gl.dest] == 30 {
			break // a destination drained
		}
		for _, d := range dests {
			if i >= 8 && count[d] < (i+1)/len(dests)-2 {
				t.Fatalf("after %d grants %s had %d: %v", i+1, d, count[d], count)
			}
		}
	}
	if start > 30 {
		t.Fatalf("the last destination waited %d grants", start)
	}
}

// Slow destinations share half the pool: however many there are, a fresh
// delivery to a healthy destination is granted at once.
func TestSlowDestinationsShareHalfThePool(t *testing.T) {
	r := newRig(t, Options{Workers: 16, SlowLatency: 50 * time.Millisecond})
	for i := range 12 {
		r.add("http://slow"+strconv.Itoa(i)+":80", behaviour{delay: 400 * time.Millisecond, healthy: true}, 10)
	}
	// By now each has finished an attempt, so all are known to be slow
	// (until then a destination may hold up to its initial limit).
	time.Sleep(1500 * time.Millisecond)
	sent := time.Now()
	before := len(r.grants())
	r.add("http://healthy:80", behaviour{healthy: true}, 1)
	for {
		g := r.grants()
		found := false
		for _, gl := range g[before:] {
			found = found || gl.dest == "http://healthy:80"
		}
		if found {
			break
		}
		if time.Since(sent) > 2*time.Second {
			t.Fatal("a healthy destination waited behind slow ones")
		}
		time.Sleep(time.Millisecond)
	}
	if wait := time.Since(sent); wait > 300*time.Millisecond { // without the slow lane: ~400 ms, or never

		t.Fatalf("a healthy destination waited %v behind slow ones", wait)
	}
	ds, _ := r.s.Destinations()
	inflight := 0
	for _, d := range ds {
		if d.Slow {
			inflight += d.InFlight
		}
	}
	if inflight > 8 {
		t.Fatalf("slow destinations hold %d of 16 workers", inflight)
	}
}

// A fast destination's limit grows to the cap; a slow one's falls.
func TestAdaptiveLimit(t *testing.T) {
	r := newRig(t, Options{Workers: 256, SlowLatency: 50 * time.Millisecond})
	r.add("http://fast:80", behaviour{delay: time.Millisecond, healthy: true}, 200)
	r.add("http://slow:80", behaviour{delay: 200 * time.Millisecond, healthy: true}, 40)
	time.Sleep(time.Second)
	ds, _ := r.s.Destinations()
	for _, d := range ds {
		switch d.Destination {
		case "http://fast:80":
			if d.Limit != 32 && d.Due != nil {
				t.Errorf("fast destination's limit %d, want the cap 32", d.Limit)
			}
		case "http://slow:80":
			if d.Limit > 8 || !d.Slow {
				t.Errorf("slow destination: limit %d, slow %v; want ≤ 8 (32 × 50ms ÷ 200ms)", d.Limit, d.Slow)
			}
		}
	}
}

// After consecutive failures the circuit opens: the destination gets one
// probe per rest, the others wait (nothing in memory for them), and all go
// once a probe succeeds.
func TestOpenCircuitWaits(t *testing.T) {
	r := newRig(t, Options{Workers: 16, CircuitThreshold: 2, CircuitCooldown: 200 * time.Millisecond})
	r.add("http://down:80", behaviour{healthy: false}, 30)
	time.Sleep(700 * time.Millisecond) // opened, then probes at +200 ms and +600 ms
	sends := len(r.grants())
	// Up to 4 at once before the circuit opened, then one probe per rest.
	if sends > 4+2 {
		t.Fatalf("%d requests reached a destination whose circuit is open", sends)
	}
	if st := r.sp.Stats(); st.Cached > 1 {
		t.Fatalf("a resting destination keeps %d deliveries in memory", st.Cached)
	}
	ds, _ := r.s.Destinations()
	if len(ds) != 1 || ds[0].State == "closed" {
		t.Fatalf("destination state %+v", ds)
	}
	r.mu.Lock()
	r.dests["http://down:80"] = behaviour{healthy: true}
	r.mu.Unlock()
	// All go but those that failed for real: the rig reschedules those an
	// hour later.
	failed := int64(len(r.grants()))
	deadline := time.Now().Add(3 * time.Second)
	for r.sp.Stats().Pending > failed {
		if time.Now().After(deadline) {
			t.Fatalf("after recovery %d deliveries still wait (%d failed)", r.sp.Stats().Pending, failed)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
