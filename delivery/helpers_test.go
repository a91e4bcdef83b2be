package delivery

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
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

// hit is one request a sink received.
type hit struct {
	header http.Header
	body   []byte
	at     time.Time
}

// sink is a real HTTP server on 127.0.0.1 that answers reply(n) to its
// n-th request (from 1); a reply that writes the response returns 0.
type sink struct {
	url   string
	mu    sync.Mutex
	hits  []hit
	reply func(n int, w http.ResponseWriter) int
}

func newSink(t *testing.T, reply func(n int, w http.ResponseWriter) int) *sink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{url: "http://" + ln.Addr().String() + "/hook", reply: reply}
	srv := &http.Server{Handler: s}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.hits = append(s.hits, hit{header: r.Header.Clone(), body: b, at: time.Now()})
	n := len(s.hits)
	s.mu.Unlock()
	code := http.StatusOK
	if s.reply != nil {
		code = s.reply(n, w)
	}
	if code != 0 { // 0: reply wrote the response itself
		w.WriteHeader(code)
	}
}

// wait returns the sink's hits once it has at least n, failing after d.
func (s *sink) wait(t *testing.T, n int, d time.Duration) []hit {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		s.mu.Lock()
		if len(s.hits) >= n {
			out := append([]hit(nil), s.hits...)
			s.mu.Unlock()
			return out
		}
		got := len(s.hits)
		s.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("sink got %d requests after %v, want %d", got, d, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.hits)
}

// event returns an event of env "prod" forwarding payload to each url for
// connection "conn-1".
func event(payload string, urls ...string) *Event {
	ev := &Event{Env: "prod", Integration: "github", Provider: "github"}
	for _, u := range urls {
		ev.Forwards = append(ev.Forwards, Forward{ConnectionID: "conn-1", URL: u, Payload: []byte(payload)})
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
