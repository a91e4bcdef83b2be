// Package fakestreak is Streak's webhook API as edgehook's tests need it:
// a real HTTP server on 127.0.0.1 that registers and deletes webhooks
// (POST /v2/webhooks, DELETE /v2/webhooks/{key}), records every call, and
// can fail, go down or hold its replies on request.
package fakestreak

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// Create is one registration request Streak accepted.
type Create struct {
	Query     string // the raw query: pipelineKey=… or teamKey=…
	Auth      string // the Authorization header
	Event     string
	TargetURL string
	Token     string
	Key       string // the key Streak gave the webhook
}

// Delete is one deletion request.
type Delete struct {
	Key    string
	Auth   string
	Status int // what the fake answered
}

// Server is a fake Streak API; see New.
type Server struct {
	// URL is the API base URL (the integration's api_base_url).
	URL string

	mu       sync.Mutex
	creates  []Create
	refused  int // create requests answered with an error status
	deletes  []Delete
	live     map[string]Create
	fail     int    // answer 500 to this many more creates
	failOn   string // answer 500 to creates of this event
	down     bool   // answer 503 to everything
	hold     int    // hold the reply to this many more accepted creates
	released chan struct{}
	arrived  chan struct{}
}

// New starts a Server for the test.
func New(tb testing.TB) *Server {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &Server{
		URL: "http://" + ln.Addr().String() + "/api", live: map[string]Create{},
		released: make(chan struct{}), arrived: make(chan struct{}, 64),
	}
	srv := &http.Server{Handler: s}
	go srv.Serve(ln)
	tb.Cleanup(func() { s.Release(); srv.Close() })
	return s
}

// FailCreates makes the next n registrations answer 500.
func (s *Server) FailCreates(n int) { s.mu.Lock(); s.fail = n; s.mu.Unlock() }

// FailEvent makes every registration of event answer 500.
func (s *Server) FailEvent(event string) { s.mu.Lock(); s.failOn = event; s.mu.Unlock() }

// SetDown makes every request answer 503 while down.
func (s *Server) SetDown(down bool) { s.mu.Lock(); s.down = down; s.mu.Unlock() }

// HoldCreates makes the next n registrations take effect at once but hold
// their replies until Release.
func (s *Server) HoldCreates(n int) { s.mu.Lock(); s.hold = n; s.mu.Unlock() }

// Release lets held replies go.
func (s *Server) Release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.released:
	default:
		close(s.released)
	}
}

// Arrived is signalled once per accepted registration, when it arrives.
func (s *Server) Arrived() <-chan struct{} { return s.arrived }

// Creates returns the registrations accepted so far.
func (s *Server) Creates() []Create {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Create(nil), s.creates...)
}

// Refused returns the number of registrations answered with an error.
func (s *Server) Refused() int { s.mu.Lock(); defer s.mu.Unlock(); return s.refused }

// Deletes returns the deletion requests so far.
func (s *Server) Deletes() []Delete {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delete(nil), s.deletes...)
}

// Live returns the webhooks registered and not deleted, by key.
func (s *Server) Live() map[string]Create {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]Create, len(s.live))
	for k, v := range s.live {
		out[k] = v
	}
	return out
}

// ServeHTTP answers the webhook API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/api/v2/webhooks":
		s.create(w, r, body)
	case r.Method == http.MethodDelete && strings.HasPrefix(r.URL.Path, "/api/v2/webhooks/"):
		s.delete(w, r, strings.TrimPrefix(r.URL.Path, "/api/v2/webhooks/"))
	default:
		http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
	}
}

func (s *Server) create(w http.ResponseWriter, r *http.Request, body []byte) {
	var req struct {
		Event     string `json:"event"`
		TargetURL string `json:"targetUrl"`
		Token     string `json:"token"`
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	s.mu.Lock()
	switch {
	case s.down:
		s.refused++
		s.mu.Unlock()
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	case s.fail > 0:
		s.fail--
		s.refused++
		s.mu.Unlock()
		http.Error(w, "failing", http.StatusInternalServerError)
		return
	case dec.Decode(&req) != nil || req.Event == "" || req.TargetURL == "" || req.Token == "":
		s.refused++
		s.mu.Unlock()
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	case req.Event == s.failOn:
		s.refused++
		s.mu.Unlock()
		http.Error(w, "failing", http.StatusInternalServerError)
		return
	}
	c := Create{Query: r.URL.RawQuery, Auth: r.Header.Get("Authorization"), Event: req.Event,
		TargetURL: req.TargetURL, Token: req.Token, Key: fmt.Sprintf("wh-%d", len(s.creates)+1)}
	s.creates = append(s.creates, c)
	s.live[c.Key] = c
	held := s.hold > 0
	if held {
		s.hold--
	}
	s.mu.Unlock()
	select {
	case s.arrived <- struct{}{}:
	default: // nobody waits for that many
	}
	if held {
		<-s.released
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"key": c.Key, "event": c.Event, "targetUrl": c.TargetURL})
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request, key string) {
	s.mu.Lock()
	d := Delete{Key: key, Auth: r.Header.Get("Authorization"), Status: http.StatusOK}
	switch _, ok := s.live[key]; {
	case s.down:
		d.Status = http.StatusServiceUnavailable
	case !ok:
		d.Status = http.StatusNotFound
	default:
		delete(s.live, key)
	}
	s.deletes = append(s.deletes, d)
	s.mu.Unlock()
	w.WriteHeader(d.Status)
}
