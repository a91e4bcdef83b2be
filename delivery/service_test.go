package delivery

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgehook/edgehook/delivery/sender"
	"github.com/edgehook/edgehook/delivery/spool"
)

// Each attempt is signed afresh; the webhook-id stays, the attempt number
// grows, and provider headers pass through.
func TestForwardHeadersAcrossRetries(t *testing.T) {
	s := newTestService(t, Options{Jitter: -1})
	snk := newSink(t, func(n int, _ http.ResponseWriter) int {
		if n < 3 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	ev := event(`{"n":1}`, snk.URL)
	ev.TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	ev.Header = sender.AppendHeader(nil, []byte("X-GitHub-Event"), []byte("issues"))
	accept(t, s, ev)
	hits := snk.Wait(t, 3, 5*time.Second)
	time.Sleep(100 * time.Millisecond)
	if snk.Count() != 3 {
		t.Fatalf("sink got %d requests after a success, want 3", snk.Count())
	}
	id := hits[0].Header.Get("webhook-id")
	for i, h := range hits {
		if got := h.Header.Get("X-Edgehook-Attempt"); got != strconv.Itoa(i+1) {
			t.Errorf("attempt %d numbered %q", i+1, got)
		}
		if h.Header.Get("webhook-id") != id || id == "" {
			t.Errorf("attempt %d webhook-id %q, first %q", i+1, h.Header.Get("webhook-id"), id)
		}
		m := hmac.New(sha256.New, []byte("app-secret"))
		m.Write(h.Body)
		if h.Header.Get("X-Nango-Hmac-Sha256") != hex.EncodeToString(m.Sum(nil)) {
			t.Errorf("attempt %d: X-Nango-Hmac-Sha256 does not verify", i+1)
		}
		ts, err := strconv.ParseInt(h.Header.Get("webhook-timestamp"), 10, 64)
		if err != nil || time.Since(time.Unix(ts, 0)).Abs() > time.Minute {
			t.Errorf("attempt %d: webhook-timestamp %q", i+1, h.Header.Get("webhook-timestamp"))
		}
		if h.Header.Get("traceparent") != ev.TraceParent || h.Header.Get("X-Github-Event") != "issues" {
			t.Errorf("attempt %d: headers %v", i+1, h.Header)
		}
	}
	eventually(t, time.Second, "delivered delivery removed", func() bool { return s.Stats().Pending == 0 })
}

// destState returns the scheduler's state of the destination of url.
func destState(t *testing.T, s *Service, url string) string {
	dk, _ := sender.DestKey(url)
	ds, err := s.Destinations()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.Destination == dk {
			return d.State
		}
	}
	return ""
}

// After CircuitThreshold consecutive failures the destination rests for
// the cooldown, then gets one probe; a failed probe doubles the cooldown.
func TestCircuitOpens(t *testing.T) {
	var healthy atomic.Bool
	s := newTestService(t, Options{
		Schedule:         []time.Duration{10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond},
		Jitter:           -1,
		CircuitThreshold: 3,
		CircuitCooldown:  300 * time.Millisecond,
	})
	snk := newSink(t, func(int, http.ResponseWriter) int {
		if healthy.Load() {
			return http.StatusOK
		}
		return http.StatusServiceUnavailable
	})
	accept(t, s, event(`{}`, snk.URL))
	hits := snk.Wait(t, 5, 5*time.Second)
	if gap := hits[3].At.Sub(hits[2].At); gap < 250*time.Millisecond {
		t.Fatalf("probe %v after the circuit opened, want the 300ms cooldown", gap)
	}
	if gap := hits[4].At.Sub(hits[3].At); gap < 550*time.Millisecond {
		t.Fatalf("second probe %v after a failed probe, want the doubled cooldown", gap)
	}
	if st := destState(t, s, snk.URL); st != "open" && st != "half_open" {
		t.Fatalf("circuit state %q", st)
	}
	healthy.Store(true)
	snk.Wait(t, 6, 3*time.Second)
	eventually(t, time.Second, "circuit closed", func() bool {
		st := destState(t, s, snk.URL)
		return st == "closed" || st == "" // closed, or forgotten with nothing to do
	})
	d, _, err := s.List("prod", Query{Status: "pending", Limit: 1})
	if err != nil || len(d) != 0 {
		t.Fatalf("pending after delivery: %+v %v", d, err)
	}
}

// retryBacklog puts n deliveries to url in the spool that failed once and
// are due again.
func retryBacklog(t *testing.T, sp spool.Spool, url string, n int) {
	t.Helper()
	dk, _ := sender.DestKey(url)
	past := time.Now().Add(-time.Minute)
	for i := range n {
		ev := "backlog-" + strconv.Itoa(i)
		_, err := sp.Append(&spool.Batch{EventID: ev, Bodies: []spool.BodyIn{{Payload: []byte(`{"retry":true}`)}},
			Deliveries: []*spool.Delivery{{ID: ev, EventID: ev, Env: "prod", Integration: "github", Provider: "github",
				URL: url, Dest: dk, Created: past, Due: past}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	ds, _, err := sp.Lease(dk, time.Now(), n, time.Hour)
	if err != nil || len(ds) != n {
		t.Fatalf("leasing the backlog: %d, %v", len(ds), err)
	}
	for _, d := range ds {
		if err := sp.Reschedule(d, spool.Attempt{At: past, Status: 503}, past); err != nil {
			t.Fatal(err)
		}
	}
}

// A new event's first attempt is sent before a backlog of retries to the
// same destination.
func TestFirstAttemptsBeforeRetries(t *testing.T) {
	snk := newSink(t, nil)
	s, err := New(Options{Dir: t.TempDir(), PerDestConcurrency: 1, AllowPrivate: true, Logger: testLog,
		Secret: func(string) (string, error) { return "s", nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	retryBacklog(t, s.spool, snk.URL, 20)
	accept(t, s, event(`{"fresh":true}`, snk.URL))
	s.Start()
	hits := snk.Wait(t, 21, 10*time.Second)
	if string(hits[0].Body) != `{"from":"github","type":"forward","connectionId":"conn-1","providerConfigKey":"github","payload":{"fresh":true}}` {
		t.Fatalf("first request was %s", hits[0].Body)
	}
}

// Deliveries accepted but not yet sent when a Service closes are sent by
// the next Service on the same directory.
func TestRestartResumes(t *testing.T) {
	dir := t.TempDir()
	snk := newSink(t, nil)
	s1, err := New(Options{Dir: dir, AllowPrivate: true, Logger: testLog})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if _, err := s1.Accept(event(`{"i":`+strconv.Itoa(i)+`}`, snk.URL)); err != nil {
			t.Fatal(err)
		}
	}
	s1.Close() // never started: nothing was sent
	if snk.Count() != 0 {
		t.Fatal("an unstarted service delivered")
	}
	s2 := newTestService(t, Options{Dir: dir})
	snk.Wait(t, 10, 5*time.Second)
	eventually(t, 5*time.Second, "spool drained", func() bool { return s2.Stats().Pending == 0 })
}

func TestRetryOnlyDeadLetters(t *testing.T) {
	s := newTestService(t, Options{Schedule: []time.Duration{time.Hour}})
	accept(t, s, event(`{}`, "http://127.0.0.1:1/down")) // nothing listens on port 1
	var l []Info
	eventually(t, 5*time.Second, "first attempt made", func() bool {
		l, _, _ = s.List("prod", Query{Status: "pending", Limit: 10})
		return len(l) == 1 && l[0].Attempts == 1
	})
	if err := s.Retry("prod", l[0].ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Retry of a pending delivery: %v", err)
	}
	if err := s.Retry("prod", "no-such-id"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Retry of an unknown id: %v", err)
	}
	if _, _, err := s.List("prod", Query{Status: "weird", Limit: 10}); !errors.Is(err, ErrBadStatus) {
		t.Fatalf("List with a bad status: %v", err)
	}
	d, err := s.Get("prod", l[0].ID)
	if err != nil || len(d.History) != 1 || d.History[0].Number != 1 || d.History[0].Error == "" || d.Kind != "forward" {
		t.Fatalf("Get = %+v, %v", d, err)
	}
	if _, err := s.Get("other-env", l[0].ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get from another environment: %v", err)
	}
}

// A 2xx whose body is larger than the client reads still ends the delivery.
func TestLargeReplyBodyStillDelivered(t *testing.T) {
	s := newTestService(t, Options{})
	big := strings.Repeat("x", 3<<20)
	snk := newSink(t, func(_ int, w http.ResponseWriter) int {
		w.Header().Set("Content-Length", strconv.Itoa(len(big)))
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, big)
		return 0
	})
	accept(t, s, event(`{}`, snk.URL))
	snk.Wait(t, 1, 5*time.Second)
	eventually(t, 5*time.Second, "delivery completed", func() bool { return s.Stats().Pending == 0 })
	time.Sleep(100 * time.Millisecond)
	if n := snk.Count(); n != 1 {
		t.Fatalf("sink got %d requests, want 1", n)
	}
}

// When a destination's circuit opens, the spool drops what it held in
// memory for it; its deliveries are read again, and delivered, once it
// recovers.
func TestOpenCircuitReleasesMemory(t *testing.T) {
	var healthy atomic.Bool
	s, err := New(Options{
		Dir: t.TempDir(), AllowPrivate: true, Logger: testLog, Jitter: -1,
		Schedule:           []time.Duration{10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond},
		PerDestConcurrency: 2, CircuitThreshold: 3, CircuitCooldown: 200 * time.Millisecond, CircuitMaxCooldown: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	snk := newSink(t, func(int, http.ResponseWriter) int {
		if healthy.Load() {
			return http.StatusOK
		}
		return http.StatusServiceUnavailable
	})
	const n = 50
	for i := range n {
		accept(t, s, event(`{"i":`+strconv.Itoa(i)+`}`, snk.URL))
	}
	s.Start()
	eventually(t, 5*time.Second, "circuit open", func() bool { return destState(t, s, snk.URL) == "open" })
	if st := s.Stats(); st.Cached > 1 {
		t.Fatalf("an open circuit's destination keeps %d deliveries in memory: %+v", st.Cached, st)
	}
	healthy.Store(true)
	eventually(t, 10*time.Second, "all delivered", func() bool { return s.Stats().Pending == 0 })
	seen := map[string]bool{}
	for _, h := range snk.Wait(t, n, time.Second) {
		if bytes.Contains(h.Body, []byte(`"i":`)) {
			seen[h.Header.Get("webhook-id")] = true
		}
	}
	if len(seen) != n {
		t.Fatalf("%d distinct deliveries reached the sink, want %d", len(seen), n)
	}
}

// Accepts racing with disk scans of a backlog to the same destination:
// every delivery reaches the sink exactly once.
func TestAcceptDuringScansDeliversOnce(t *testing.T) {
	snk := newSink(t, nil)
	s, err := New(Options{Dir: t.TempDir(), AllowPrivate: true, Logger: testLog,
		PerDestConcurrency: 4, MaxInMemory: 8, Secret: func(string) (string, error) { return "s", nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const backlog, live = 300, 300
	for i := range backlog { // on disk before Start
		accept(t, s, event(`{"b":`+strconv.Itoa(i)+`}`, snk.URL))
	}
	s.Start()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range live / 4 {
				if _, err := s.Accept(event(`{"w":`+strconv.Itoa(w*1000+i)+`}`, snk.URL)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	eventually(t, 20*time.Second, "all delivered", func() bool {
		return s.Stats().Pending == 0 && snk.Count() >= backlog+live
	})
	time.Sleep(50 * time.Millisecond)
	seen := map[string]int{}
	for _, h := range snk.Wait(t, backlog+live, time.Second) {
		seen[h.Header.Get("webhook-id")]++
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("delivery %s reached the sink %d times", id, n)
		}
	}
	if len(seen) != backlog+live {
		t.Fatalf("%d distinct deliveries arrived, want %d", len(seen), backlog+live)
	}
}

// Deliveries accepted and delivered at once are leased from memory: the
// spool never reads a destination's queue from the disk.
func TestHealthyTrafficNeedsNoScans(t *testing.T) {
	s := newTestService(t, Options{})
	snk := newSink(t, nil)
	for i := range 50 {
		accept(t, s, event(`{"i":`+strconv.Itoa(i)+`}`, snk.URL))
	}
	snk.Wait(t, 50, 5*time.Second)
	eventually(t, time.Second, "delivered", func() bool { return s.Stats().Pending == 0 })
	if n := s.Stats().Scans; n != 0 {
		t.Fatalf("the spool read the disk queue %d times", n)
	}
}

// failingOnce is the real spool whose next Reschedule fails, as a disk
// error would make it.
type failingOnce struct {
	spool.Spool
	n atomic.Int32
}

func (f *failingOnce) Reschedule(d *spool.Delivery, a spool.Attempt, due time.Time) error {
	if f.n.Add(-1) >= 0 {
		return errors.New("injected: disk error")
	}
	return f.Spool.Reschedule(d, a, due)
}

// When an attempt's result cannot be stored, the delivery stays as it was
// stored and is attempted again at once: it is not stranded.
func TestUnstoredResultIsRetried(t *testing.T) {
	snk := newSink(t, func(n int, _ http.ResponseWriter) int {
		if n <= 2 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	o, err := Options{Dir: t.TempDir(), AllowPrivate: true, Logger: testLog, Schedule: []time.Duration{10 * time.Millisecond},
		Secret: func(string) (string, error) { return "s", nil }}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	ps, err := spool.Open(spool.Options{Dir: o.Dir, Logger: testLog, MaxBytes: 1 << 30, MinFree: 1})
	if err != nil {
		t.Fatal(err)
	}
	sp := &failingOnce{Spool: ps}
	sp.n.Store(1)
	s, err := newService(o, sp)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Start()
	accept(t, s, event(`{"x":1}`, snk.URL))
	hits := snk.Wait(t, 3, 5*time.Second)
	if a := hits[1].Header.Get("X-Edgehook-Attempt"); a != "1" {
		t.Fatalf("after an unstored result the next request is attempt %q, want 1 again", a)
	}
	eventually(t, 5*time.Second, "delivered", func() bool { return s.Stats().Pending == 0 })
}

// A failure of ours (the environment's secret unavailable) makes no
// attempt and does not count against the destination.
func TestLocalErrorsAreNotAttempts(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	snk := newSink(t, nil)
	s := newTestService(t, Options{CircuitThreshold: 2, LocalRetry: 20 * time.Millisecond, Secret: func(string) (string, error) {
		if fail.Load() {
			return "", errors.New("config unavailable")
		}
		return "s", nil
	}})
	accept(t, s, event(`{}`, snk.URL))
	time.Sleep(300 * time.Millisecond) // many rounds of trying
	if snk.Count() != 0 {
		t.Fatal("sent without a secret")
	}
	if st := destState(t, s, snk.URL); st == "open" {
		t.Fatal("a failure of ours opened the destination's circuit")
	}
	fail.Store(false)
	hits := snk.Wait(t, 1, 5*time.Second)
	if a := hits[0].Header.Get("X-Edgehook-Attempt"); a != "1" {
		t.Fatalf("first request is attempt %q", a)
	}
}

// Deliveries waiting behind an open circuit longer than their retry
// schedule lasts are dead-lettered, with the reason, and stay retryable.
func TestWaitingDeliveriesExpire(t *testing.T) {
	snk := newSink(t, func(int, http.ResponseWriter) int { return http.StatusServiceUnavailable })
	s := newTestService(t, Options{Schedule: []time.Duration{20 * time.Millisecond}, Jitter: -1,
		AttemptTimeout: 100 * time.Millisecond, CircuitThreshold: 2, CircuitCooldown: 400 * time.Millisecond})
	for i := range 10 {
		accept(t, s, event(`{"i":`+strconv.Itoa(i)+`}`, snk.URL))
	}
	var dead []Info
	eventually(t, 5*time.Second, "all dead-lettered", func() bool {
		dead, _, _ = s.List("prod", Query{Status: "dead", Limit: 100})
		return len(dead) == 10
	})
	expired := 0
	for _, d := range dead {
		if strings.Contains(d.Reason, "ran out while its destination was unavailable") {
			expired++
		}
	}
	if expired == 0 || snk.Count() > 2+2+2 {
		t.Fatalf("%d expired, %d requests made; want most expired without a request", expired, snk.Count())
	}
	if err := s.Retry("prod", dead[0].ID); err != nil {
		t.Fatal(err)
	}
}

// Deliveries waiting behind a circuit that rests longer than their retry
// schedule lasts are dead-lettered when the schedule runs out, not when
// the next probe leases them: an open circuit must not make its backlog
// grow for as long as it rests (the soak's failing destinations grew the
// spool by 250 deliveries a second until the end of the run).
func TestExpiredBehindRestingCircuit(t *testing.T) {
	snk := newSink(t, func(int, http.ResponseWriter) int { return http.StatusServiceUnavailable })
	s := newTestService(t, Options{Schedule: []time.Duration{20 * time.Millisecond}, Jitter: -1,
		AttemptTimeout: 100 * time.Millisecond, CircuitThreshold: 2, CircuitCooldown: time.Minute})
	for i := range 2 {
		accept(t, s, event(`{"open":`+strconv.Itoa(i)+`}`, snk.URL))
	}
	eventually(t, 5*time.Second, "circuit open", func() bool { return destState(t, s, snk.URL) == "open" })
	const n = 50
	for i := range n {
		accept(t, s, event(`{"i":`+strconv.Itoa(i)+`}`, snk.URL))
	}
	// The schedule lasts 2×100 ms + 20 ms; the circuit rests a minute.
	eventually(t, 5*time.Second, "waiting deliveries dead-lettered while the circuit rests", func() bool {
		st := s.Stats()
		return st.Pending == 0 && st.Dead == n+2
	})
	if c := snk.Count(); c > 2+2 {
		t.Fatalf("%d requests made; the resting circuit let more than its opening attempts through", c)
	}
	if st := destState(t, s, snk.URL); st != "open" {
		t.Fatalf("circuit %s, want still open", st)
	}
	dead, _, _ := s.List("prod", Query{Status: "dead", Limit: 100})
	if len(dead) != n+2 || !strings.Contains(dead[len(dead)-1].Reason+dead[0].Reason, "ran out") {
		t.Fatalf("%d dead letters, want %d with the expiry reason", len(dead), n+2)
	}
}
