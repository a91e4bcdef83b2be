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
	ev.Header = AppendHeader(nil, []byte("X-GitHub-Event"), []byte("issues"))
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
	eventually(t, time.Second, "delivered delivery removed", func() bool { return s.Stats().PendingOnDisk == 0 })
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
	if s.Stats().OpenCircuits != 1 {
		t.Fatalf("stats: %+v", s.Stats())
	}
	healthy.Store(true)
	snk.Wait(t, 6, 3*time.Second)
	eventually(t, time.Second, "circuit closed", func() bool { return s.Stats().OpenCircuits == 0 })
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
	dk, _ := destKey(snk.URL)
	past := time.Now().Add(-time.Minute)
	var backlog []*Record
	for i := range 20 {
		r := pendingRecord("retry-"+strconv.Itoa(i), dk, past, 1)
		r.URL = snk.URL
		backlog = append(backlog, r)
	}
	if _, _, err := s.spool.Append(nil, backlog); err != nil {
		t.Fatal(err)
	}
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
	eventually(t, 5*time.Second, "spool drained", func() bool { return s2.Stats().PendingOnDisk == 0 })
}

func TestRetryOnlyDeadLetters(t *testing.T) {
	s := newTestService(t, Options{Schedule: []time.Duration{time.Hour}})
	accept(t, s, event(`{}`, "http://127.0.0.1:1/down")) // nothing listens on port 1
	var l []Info
	eventually(t, 5*time.Second, "first attempt made", func() bool {
		l, _ = s.List("prod", "pending", 10)
		return len(l) == 1 && l[0].Attempts == 1
	})
	if err := s.Retry("prod", l[0].ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Retry of a pending delivery: %v", err)
	}
	if err := s.Retry("prod", "no-such-id"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Retry of an unknown id: %v", err)
	}
	if _, err := s.List("prod", "weird", 10); !errors.Is(err, ErrBadStatus) {
		t.Fatalf("List with a bad status: %v", err)
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
	eventually(t, 5*time.Second, "delivery completed", func() bool { return s.Stats().PendingOnDisk == 0 })
	time.Sleep(100 * time.Millisecond)
	if n := snk.Count(); n != 1 {
		t.Fatalf("sink got %d requests, want 1", n)
	}
}

// When a destination's circuit opens, its ready deliveries leave memory;
// they are loaded again, and delivered, once it recovers.
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
	for i := range n { // before Start: the loader reads them from disk
		accept(t, s, event(`{"i":`+strconv.Itoa(i)+`}`, snk.URL))
	}
	// A retry due much later keeps the destination's queue from looking
	// empty to a scan, as a real backlog would.
	dk, _ := destKey(snk.URL)
	later := pendingRecord("later", dk, time.Now().Add(time.Hour), 1)
	if _, _, err := s.spool.Append(nil, []*Record{later}); err != nil {
		t.Fatal(err)
	}
	s.Start()
	eventually(t, 5*time.Second, "circuit open", func() bool { return s.Stats().OpenCircuits == 1 })
	if st := s.Stats(); st.InMemory > 2 {
		t.Fatalf("open circuit holds %d deliveries in memory: %+v", st.InMemory, st)
	}
	healthy.Store(true)
	eventually(t, 10*time.Second, "all delivered", func() bool { return s.Stats().PendingOnDisk == 1 })
	seen := map[string]bool{}
	for _, h := range snk.Wait(t, n, time.Second) {
		if h.Header.Get("X-Edgehook-Attempt") != "" && bytes.Contains(h.Body, []byte(`"i":`)) {
			seen[h.Header.Get("webhook-id")] = true
		}
	}
	if len(seen) != n {
		t.Fatalf("%d distinct deliveries reached the sink, want %d", len(seen), n)
	}
}

// Accepts racing with loads of a disk backlog to the same destination:
// every delivery reaches the sink exactly once.
func TestAcceptDuringLoadsDeliversOnce(t *testing.T) {
	snk := newSink(t, nil)
	s, err := New(Options{Dir: t.TempDir(), AllowPrivate: true, Logger: testLog,
		PerDestConcurrency: 4, PerDestMemory: 8, Secret: func(string) (string, error) { return "s", nil }})
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
		return s.Stats().PendingOnDisk <= 0 && snk.Count() >= backlog+live
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

// Deliveries handed over at accept time and delivered at once never make
// the loader read the disk queue.
func TestHealthyTrafficNeedsNoLoads(t *testing.T) {
	s := newTestService(t, Options{})
	snk := newSink(t, nil)
	for i := range 50 {
		accept(t, s, event(`{"i":`+strconv.Itoa(i)+`}`, snk.URL))
	}
	snk.Wait(t, 50, 5*time.Second)
	eventually(t, time.Second, "delivered", func() bool { return s.Stats().PendingOnDisk == 0 })
	time.Sleep(50 * time.Millisecond)
	if n := s.Stats().Loads; n != 0 {
		t.Fatalf("the loader read the disk queue %d times", n)
	}
}

// failingUpdates is the real spool whose next n Updates fail, as a disk
// error would make them.
type failingUpdates struct {
	Spool
	n atomic.Int32
}

func (f *failingUpdates) Update(prev, next *Record) error {
	if f.n.Add(-1) >= 0 {
		return errors.New("injected: disk error")
	}
	return f.Spool.Update(prev, next)
}

// When an attempt's result cannot be stored, the delivery stays queued as
// it was and is attempted again: it is not stranded behind the queue's
// scan position.
func TestUnstoredResultIsRetried(t *testing.T) {
	snk := newSink(t, func(n int, _ http.ResponseWriter) int {
		if n == 1 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	o, err := Options{Dir: t.TempDir(), AllowPrivate: true, Logger: testLog,
		Secret: func(string) (string, error) { return "s", nil }}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	pebbleSpool, err := OpenPebble(o.Dir, testLog)
	if err != nil {
		t.Fatal(err)
	}
	sp := &failingUpdates{Spool: pebbleSpool}
	sp.n.Store(1)
	s, err := newService(o, sp)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	accept(t, s, event(`{"x":1}`, snk.URL)) // before Start: loaded by a scan
	dk, _ := destKey(snk.URL)
	later := pendingRecord("later", dk, time.Now().Add(time.Hour), 1)
	if _, _, err := sp.Append(nil, []*Record{later}); err != nil { // keeps the queue from looking empty
		t.Fatal(err)
	}
	s.Start()
	snk.Wait(t, 2, 5*time.Second)
	eventually(t, 5*time.Second, "delivered", func() bool { return s.Stats().PendingOnDisk == 1 })
}
