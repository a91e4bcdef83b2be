package delivery

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/panjf2000/ants/v2"
	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/delivery/sender"
)

// errClosed is returned by Accept after Close.
var errClosed = errors.New("delivery: service closed")

// Service spools accepted events and delivers their forwards: a Spool on
// disk, a bounded set of deliveries in memory, one ants pool for all
// sends, and per-destination queues, concurrency caps and circuits.
type Service struct {
	opts    Options
	log     *slog.Logger
	spool   Spool
	pool    *ants.Pool
	client  *fasthttp.Client
	waiters chan struct{} // Accepts waiting for their sync
	perDest int           // deliveries of one destination held in memory at most

	mu       sync.Mutex
	dests    map[string]*dest
	inMem    int   // deliveries held in memory, ready or in flight
	memBody  int   // bytes of the bodies kept with them
	loads    int64 // disk queue loads run
	inFlight int
	started  bool
	closed   bool

	storeMu     sync.RWMutex // held for reading around every spool call
	storeClosed bool

	kick     chan struct{}
	quit     chan struct{}
	loops    sync.WaitGroup
	attempts sync.WaitGroup
	adminMu  sync.Mutex
}

// New opens the spool in opts.Dir and prepares the Service; deliveries
// left undelivered by an earlier run resume once Start is called.
func New(opts Options) (*Service, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	spool, err := OpenPebble(o.Dir, o.Logger)
	if err != nil {
		return nil, err
	}
	s, err := newService(o, spool)
	if err != nil {
		spool.Close()
		return nil, err
	}
	return s, nil
}

func newService(o Options, spool Spool) (*Service, error) {
	pool, err := ants.NewPool(o.Workers, ants.WithNonblocking(true),
		ants.WithPanicHandler(func(p any) {
			o.Logger.Error("delivery: attempt panicked", "panic", fmt.Sprint(p))
		}))
	if err != nil {
		return nil, fmt.Errorf("delivery: worker pool: %w", err)
	}
	s := &Service{
		opts: o, log: o.Logger, spool: spool, pool: pool,
		client:  newClient(&o),
		waiters: make(chan struct{}, o.MaxSyncWaiters),
		perDest: o.perDestMemory(),
		dests:   map[string]*dest{},
		kick:    make(chan struct{}, 1),
		quit:    make(chan struct{}),
	}
	keys, err := spool.Destinations()
	if err != nil {
		pool.Release()
		return nil, err
	}
	now := o.Now()
	for _, k := range keys {
		s.destLocked(k).noteDisk(now)
	}
	return s, nil
}

// newClient returns the HTTP client of all attempts.
func newClient(o *Options) *fasthttp.Client {
	return &fasthttp.Client{
		Name:                   "edgehook",
		Dial:                   sender.Dial(o.AllowPrivate, o.AttemptTimeout),
		MaxConnsPerHost:        o.PerDestConcurrency,
		MaxConnWaitTimeout:     o.AttemptTimeout,
		MaxIdleConnDuration:    30 * time.Second,
		ReadTimeout:            o.AttemptTimeout,
		WriteTimeout:           o.AttemptTimeout,
		MaxResponseBodySize:    1 << 20,
		DisablePathNormalizing: true,
	}
}

// Start starts delivering: the loader that moves due deliveries from disk
// to memory, and the dedupe garbage collector.
func (s *Service) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		return
	}
	s.started = true
	s.loops.Add(2)
	go s.loop()
	go s.gcLoop()
}

// Ready reports whether the Service is started and its spool open.
func (s *Service) Ready() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.started && !s.closed
}

// Close stops taking work, waits for in-flight attempts up to
// Options.ShutdownTimeout and closes the spool. An attempt still running
// then is abandoned: its delivery stays pending and is sent again after a
// restart. Close is idempotent.
func (s *Service) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.mu.Unlock()
	close(s.quit)
	s.loops.Wait()
	if !waitTimeout(&s.attempts, s.opts.ShutdownTimeout) {
		s.log.Warn("delivery: closing with attempts in flight")
	}
	s.pool.Release()
	s.storeMu.Lock()
	s.storeClosed = true
	if err := s.spool.Close(); err != nil {
		s.log.Error("delivery: closing spool", "err", err)
	}
	s.storeMu.Unlock()
	s.client.CloseIdleConnections()
}

// waitTimeout waits for wg up to d and reports whether it finished.
func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// withStore runs f unless the spool is closed.
func (s *Service) withStore(f func() error) error {
	s.storeMu.RLock()
	defer s.storeMu.RUnlock()
	if s.storeClosed {
		return errClosed
	}
	return f()
}

// destLocked returns the state of destination key, creating it; s.mu is
// held.
func (s *Service) destLocked(key string) *dest {
	d := s.dests[key]
	if d == nil {
		d = newDest(key)
		s.dests[key] = d
	}
	return d
}

// wakeDest notes work on disk for destination key due at t and wakes the
// loader.
func (s *Service) wakeDest(key string, t time.Time) {
	s.mu.Lock()
	s.destLocked(key).noteDisk(t)
	s.mu.Unlock()
	s.wake()
}

// wake nudges the loader without blocking.
func (s *Service) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Stats is a snapshot of the Service's queues, for metrics.
type Stats struct {
	PendingOnDisk int64 // undelivered deliveries stored
	InMemory      int   // deliveries held in memory, ready or in flight
	InFlight      int   // attempts running
	Destinations  int   // destinations known
	OpenCircuits  int   // destinations whose circuit is open
	Loads         int64 // reads of a destination's disk queue so far
}

// Stats returns a snapshot of the Service's queues.
func (s *Service) Stats() Stats {
	st := Stats{PendingOnDisk: s.spool.Pending()}
	s.mu.Lock()
	defer s.mu.Unlock()
	st.InMemory, st.InFlight, st.Destinations, st.Loads = s.inMem, s.inFlight, len(s.dests), s.loads
	for _, d := range s.dests {
		if d.open {
			st.OpenCircuits++
		}
	}
	return st
}
