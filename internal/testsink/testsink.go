// Package testsink is the app end of edgehook's tests: a real HTTP server
// on 127.0.0.1 that records the forwards it receives and answers each with
// a status the test chooses.
package testsink

import (
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// Hit is one request a Sink received.
type Hit struct {
	Header http.Header
	Body   []byte
	At     time.Time
}

// Sink is a recording HTTP server; see New.
type Sink struct {
	// URL is where the sink listens, with path /hook.
	URL string
	// OnBody, when set before traffic starts, sees each body on arrival.
	OnBody func(b []byte)

	reply  func(n int, w http.ResponseWriter) int
	mu     sync.Mutex
	hits   []Hit
	notify chan struct{}
}

// Option configures the server of a Sink.
type Option func(*http.Server)

// IdleTimeout makes the sink close keep-alive connections idle for d, as
// app servers do (Node's default is 5 s).
func IdleTimeout(d time.Duration) Option { return func(s *http.Server) { s.IdleTimeout = d } }

// New starts a Sink for the test. reply(n, w) gives the status of the n-th
// request (from 1), or 0 when it wrote the response itself; nil answers
// 200.
func New(tb testing.TB, reply func(n int, w http.ResponseWriter) int, opts ...Option) *Sink {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &Sink{URL: "http://" + ln.Addr().String() + "/hook", reply: reply, notify: make(chan struct{}, 1)}
	srv := &http.Server{Handler: s}
	for _, o := range opts {
		o(srv)
	}
	go srv.Serve(ln)
	tb.Cleanup(func() { srv.Close() })
	return s
}

// ServeHTTP records the request and answers it.
func (s *Sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	if s.OnBody != nil {
		s.OnBody(b)
	}
	s.mu.Lock()
	s.hits = append(s.hits, Hit{Header: r.Header.Clone(), Body: b, At: time.Now()})
	n := len(s.hits)
	s.mu.Unlock()
	code := http.StatusOK
	if s.reply != nil {
		code = s.reply(n, w)
	}
	if code != 0 {
		w.WriteHeader(code)
	}
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// Wait returns the requests received once there are at least n, failing
// the test after d.
func (s *Sink) Wait(tb testing.TB, n int, d time.Duration) []Hit {
	tb.Helper()
	deadline := time.After(d)
	for {
		s.mu.Lock()
		if len(s.hits) >= n {
			out := append([]Hit(nil), s.hits...)
			s.mu.Unlock()
			return out
		}
		s.mu.Unlock()
		select {
		case <-s.notify:
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			tb.Fatalf("sink got %d requests after %v, want %d", s.Count(), d, n)
		}
	}
}

// Count returns the number of requests received.
func (s *Sink) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.hits)
}
