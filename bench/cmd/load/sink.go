package main

import (
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// sink is the in-process app the gateway forwards to. It counts forwards
// and records each one's end-to-end lag (provider send → sink arrival)
// from the passed-through send-time header.
type sink struct {
	addr      string
	srv       *fasthttp.Server
	delivered atomic.Int64
	mu        sync.Mutex
	lag       []time.Duration
	recording atomic.Bool
}

func startSink() (*sink, error) {
	s := &sink{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.addr = ln.Addr().String()
	s.serve(ln)
	return s, nil
}

func (s *sink) url() string { return "http://" + s.addr + "/hook" }

func (s *sink) serve(ln net.Listener) {
	s.srv = &fasthttp.Server{Handler: s.handle}
	go s.srv.Serve(ln)
}

func (s *sink) handle(ctx *fasthttp.RequestCtx) {
	s.delivered.Add(1)
	if s.recording.Load() {
		if sent, err := strconv.ParseInt(string(ctx.Request.Header.Peek(sentHeader)), 10, 64); err == nil {
			lag := time.Since(time.Unix(0, sent))
			s.mu.Lock()
			s.lag = append(s.lag, lag)
			s.mu.Unlock()
		}
	}
	ctx.SetStatusCode(fasthttp.StatusOK)
}

// takeLag returns and clears the recorded lags, sorted.
func (s *sink) takeLag() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.lag
	s.lag = nil
	sortDurations(l)
	return l
}

// down stops the sink: new connections are refused.
func (s *sink) down() { s.srv.Shutdown() }

// up serves again on the same address.
func (s *sink) up() error {
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return err
	}
	s.serve(ln)
	return nil
}

func (s *sink) close() { s.srv.Shutdown() }
