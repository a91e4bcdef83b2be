package gateway_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/edgehook/edgehook/internal/testsink"
)

// arrivals records when each forward of a sink arrived, by the payload's
// "n" field.
type arrivals struct {
	mu sync.Mutex
	at map[int]time.Time
}

func recordArrivals(s *testsink.Sink) *arrivals {
	a := &arrivals{at: map[int]time.Time{}}
	s.OnBody = func(b []byte) {
		var f struct {
			Payload struct{ N int } `json:"payload"`
		}
		if json.Unmarshal(b, &f) == nil {
			a.mu.Lock()
			a.at[f.Payload.N] = time.Now()
			a.mu.Unlock()
		}
	}
	return a
}

func (a *arrivals) get(n int) (time.Time, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.at[n]
	return t, ok
}

// slowSink answers 200 after d.
func slowSink(t *testing.T, d time.Duration) *testsink.Sink {
	return newSink(t, func(int, http.ResponseWriter) int { time.Sleep(d); return 200 })
}

// overrideConn adds connection id for installation inst whose events go to
// url only.
func overrideConn(t *testing.T, g *testGateway, id string, inst int, url string) {
	t.Helper()
	g.put(t, "prod/integrations/github/connections/"+id,
		`{"config":{"installation_id":`+strconv.Itoa(inst)+`},"webhook_url_override":"`+url+`"}`)
}

// sendMany sends n events for installation inst from 8 concurrent senders.
func sendMany(t *testing.T, g *testGateway, inst, n int) {
	t.Helper()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				sendGitHub(t, g, inst, "")
			}
		})
	}
	wg.Wait()
}

// Issue 8, defect 1: destinations that answer 2xx slowly, with backlogs,
// must not keep a fresh event to a healthy destination waiting. With the
// production pool (256 workers, 32 per destination), eight slow
// destinations used to fill the whole pool for as long as their backlogs
// lasted.
func TestSlowDestinationsDoNotDelayOthers(t *testing.T) {
	g := startGateway(t, startEtcd(t), gwOpts{workers: 256, attemptTimeout: 10 * time.Second})
	healthy := newSink(t, nil)
	got := recordArrivals(healthy)
	setupGitHub(t, g, healthy.URL)
	for i := range 8 {
		overrideConn(t, g, "slow-"+strconv.Itoa(i), 3000+i, slowSink(t, 2*time.Second).URL)
	}
	for i := range 8 {
		sendMany(t, g, 3000+i, 200)
	}
	time.Sleep(300 * time.Millisecond) // the slow attempts are under way
	var lat []time.Duration
	for n := range 5 {
		sent := time.Now()
		sendGitHub(t, g, 1001, `,"n":`+strconv.Itoa(n))
		within(t, 5*time.Second, "fresh event delivered", func() bool { _, ok := got.get(n); return ok })
		at, _ := got.get(n)
		lat = append(lat, at.Sub(sent))
	}
	slices.Sort(lat)
	t.Logf("fresh event ack→app with 8 slow destinations busy: %v", lat)
	if limit := 100 * time.Millisecond * raceSlowdown; lat[len(lat)/2] > limit {
		t.Fatalf("median %v > %v: a healthy destination waits behind slow ones", lat[len(lat)/2], limit)
	}
}

// Issue 8, defect 2: failing destinations, their circuits opening and
// half-open probes failing, must not pin the delivery capacity: a healthy
// app answering in 500 ms keeps its throughput. It is measured alone, then
// with failing destinations holding large backlogs, in one run. (Five of
// them: with four, the old loader left the healthy app just enough
// memory.)
func TestFailingDestinationsKeepNoCapacity(t *testing.T) {
	g := startGateway(t, startEtcd(t), gwOpts{
		workers: 256, attemptTimeout: 5 * time.Second, circuitCooldown: 200 * time.Millisecond,
		schedule: []time.Duration{time.Second, time.Second, time.Second, time.Second},
	})
	healthy := slowSink(t, 500*time.Millisecond)
	setupGitHub(t, g, healthy.URL)
	const n = 160
	drain := func() time.Duration {
		start, before := time.Now(), healthy.Count()
		sendMany(t, g, 1001, n)
		healthy.Wait(t, before+n, 60*time.Second)
		return time.Since(start)
	}
	alone := drain()
	for i := range 5 {
		failing := newSink(t, func(int, http.ResponseWriter) int { return http.StatusServiceUnavailable })
		overrideConn(t, g, "failing-"+strconv.Itoa(i), 4000+i, failing.URL)
		sendMany(t, g, 4000+i, 1100)
	}
	time.Sleep(time.Second) // circuits open, rest, probe and fail again
	loaded := drain()
	t.Logf("%d deliveries to a 500 ms app: %v alone, %v beside five failing destinations", n, alone, loaded)
	if loaded > alone*3/2+time.Second {
		t.Fatalf("healthy app took %v beside failing destinations, %v alone", loaded, alone)
	}
}

// Issue 8, defect 5: apps close idle keep-alive connections (Node after
// 5 s). The first forward after a quiet spell must not fail on the stale
// pooled connection and arrive as attempt 2: it is sent again at once on
// a new connection, as attempt 1.
func TestStaleKeepAliveIsNotAnAttempt(t *testing.T) {
	if testing.Short() {
		t.Skip("waits 6 s")
	}
	g := startGateway(t, startEtcd(t), gwOpts{schedule: []time.Duration{5 * time.Second}})
	app := newSink(t, nil, testsink.IdleTimeout(5*time.Second))
	setupGitHub(t, g, app.URL)
	sendGitHub(t, g, 1001, "")
	app.Wait(t, 1, 5*time.Second)
	time.Sleep(6 * time.Second)
	sendGitHub(t, g, 1001, "")
	hits := app.Wait(t, 2, 10*time.Second)
	if a := hits[1].Header.Get("X-Edgehook-Attempt"); a != "1" {
		t.Fatalf("forward after 6 s of quiet arrived as attempt %q, want 1", a)
	}
}
