package delivery

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/edgehook/edgehook/internal/testsink"
)

// testLog discards logs.
var testLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// newTestService opens and starts a Service on a fresh spool directory
// with quick retries, allowed to deliver to loopback sinks; o's non-zero
// fields override.
func newTestService(t *testing.T, o Options) *Service {
	t.Helper()
	o.AllowPrivate = true
	return startService(t, o)
}

// startService is newTestService without allowing private destinations.
func startService(t *testing.T, o Options) *Service {
	t.Helper()
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	if o.Schedule == nil {
		o.Schedule = []time.Duration{20 * time.Millisecond, 40 * time.Millisecond}
	}
	if o.AttemptTimeout == 0 {
		o.AttemptTimeout = 2 * time.Second
	}
	if o.Secret == nil {
		o.Secret = func(string) (string, error) { return "app-secret", nil }
	}
	if o.Logger == nil {
		o.Logger = testLog
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// newSink starts a recording app for the test (internal/testsink).
var newSink = testsink.New

// event returns an event of env "prod" forwarding payload to each url for
// connection "conn-1".
func event(payload string, urls ...string) *Event {
	ev := &Event{Env: "prod", Integration: "github", Provider: "github", Parts: [][]byte{[]byte(payload)}}
	for _, u := range urls {
		ev.Targets = append(ev.Targets, Target{ConnectionID: "conn-1", URL: u})
	}
	return ev
}

// accept accepts ev, failing the test on an error.
func accept(t *testing.T, s *Service, ev *Event) Result {
	t.Helper()
	res, err := s.Accept(ev)
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	return res
}

// eventually polls cond every 5ms, failing after d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true after %v", what, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
