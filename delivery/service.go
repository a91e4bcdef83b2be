package delivery

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/edgehook/edgehook/delivery/scheduler"
	"github.com/edgehook/edgehook/delivery/sender"
	"github.com/edgehook/edgehook/delivery/spool"
)

// Service spools accepted events and delivers them: the spool owns every
// delivery's state, the scheduler grants attempts, and the sender makes
// them.
type Service struct {
	opts    Options
	log     *slog.Logger
	spool   spool.Spool
	sched   *scheduler.Scheduler
	client  *sender.Client
	waiters chan struct{} // Accepts waiting for their sync
	dests   destCache
	ttl     time.Duration // lease of one attempt
	span    time.Duration // how long a delivery's retry schedule lasts
	tracer  trace.Tracer  // nil: tracing off
	metrics *metrics
	recent  *journal // the last deliveries delivered here

	mu      sync.Mutex
	started bool
	closed  bool
	quit    chan struct{}
	loops   sync.WaitGroup
}

// New opens the spool in opts.Dir (or takes opts.Spool) and prepares the
// Service; deliveries left undelivered by an earlier run resume once
// Start is called.
func New(opts Options) (*Service, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if o.Spool != nil {
		s, err := newService(o, o.Spool)
		if err != nil {
			o.Spool.Close()
			return nil, err
		}
		return s, nil
	}
	sp, err := spool.Open(spool.Options{
		Dir: o.Dir, Logger: o.Logger, MaxBytes: o.MaxBytes, MinFree: o.MinFree,
		MaxPending: int64(o.MaxPending), MaxCached: o.MaxInMemory, MaxCachedBodies: o.MaxMemoryBodies,
	})
	if err != nil {
		return nil, err
	}
	s, err := newService(o, sp)
	if err != nil {
		sp.Close()
		return nil, err
	}
	return s, nil
}

func newService(o Options, sp spool.Spool) (*Service, error) {
	s := &Service{
		opts: o, log: o.Logger, spool: sp,
		client:  sender.NewClient(sender.Options{AllowPrivate: o.AllowPrivate, Timeout: o.AttemptTimeout, MaxConns: o.PerDestConcurrency}),
		waiters: make(chan struct{}, o.MaxSyncWaiters),
		dests:   destCache{m: map[string]string{}},
		ttl:     2*o.AttemptTimeout + 30*time.Second,
		span:    scheduleSpan(o),
		tracer:  o.Tracer,
		quit:    make(chan struct{}),
		recent:  newJournal(o.Journal),
	}
	sched, err := scheduler.New(sp, s.attempt, scheduler.Options{
		Workers: o.Workers, PerDest: o.PerDestConcurrency, SlowLatency: o.SlowLatency,
		CircuitThreshold: o.CircuitThreshold, CircuitCooldown: o.CircuitCooldown,
		CircuitMaxCooldown: o.CircuitMaxCooldown, Logger: o.Logger, Now: o.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("delivery: %w", err)
	}
	s.sched = sched
	if !o.NoDeliver {
		sp.Watch(sched.Notify) // another instance's work, on a shared spool
	}
	s.metrics = newMetrics(o.Registerer, s)
	return s, nil
}

// Start starts delivering (unless Options.NoDeliver), and the collector
// of expired dedupe records and old dead letters.
func (s *Service) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		return
	}
	s.started = true
	if !s.opts.NoDeliver {
		s.sched.Start()
	}
	s.loops.Add(2)
	go s.every(s.opts.GCInterval, s.collect)
	go s.every(sweepInterval, s.sweep)
}

// Ready reports whether the Service is started and its spool open.
func (s *Service) Ready() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.started && !s.closed
}

// Close stops granting attempts, waits for those in flight up to
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
	started := s.started
	s.mu.Unlock()
	close(s.quit)
	s.loops.Wait()
	if started && !s.opts.NoDeliver && !s.sched.Stop(s.opts.ShutdownTimeout) {
		s.log.Warn("delivery: closing with attempts in flight; they stay pending")
	}
	if err := s.spool.Close(); err != nil {
		s.log.Error("delivery: closing the spool", "err", err)
	}
	s.client.Close()
}

// every runs f every interval until the Service closes; it is one of
// s.loops.
func (s *Service) every(interval time.Duration, f func()) {
	defer s.loops.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
			f()
		}
	}
}

// collect removes expired dedupe records and dead letters older than the
// retention, and forgets idle connection pools (every GCInterval).
func (s *Service) collect() {
	for {
		now := s.opts.Now()
		n, err := s.spool.Expire(now, now.Add(-s.opts.DeadRetention), gcBatch)
		if err != nil {
			s.log.Error("delivery: expiring records", "err", err)
			break
		}
		if n < gcBatch {
			break
		}
	}
	s.client.Forget(10 * time.Minute)
}

// sweep dead-letters the deliveries whose retry schedule ran out while
// their destination's circuit rested (Spool.Sweep; every sweepInterval).
func (s *Service) sweep() {
	for {
		ds, err := s.spool.Sweep(s.opts.Now(), gcBatch, reasonExpired)
		if err != nil {
			s.log.Error("delivery: dead-lettering expired deliveries", "err", err)
			return
		}
		for _, d := range ds {
			s.expired(d)
		}
		if len(ds) < gcBatch {
			return
		}
	}
}

// sweepInterval is how often sweep runs: how late past its schedule a
// delivery behind a resting circuit is dead-lettered, at most.
const sweepInterval = time.Second

// gcBatch is how many records one Expire call removes.
const gcBatch = 10000

// Stats is a snapshot of the spool's counters.
type Stats = spool.Stats

// Stats returns a snapshot of the spool's counters.
func (s *Service) Stats() Stats { return s.spool.Stats() }

// DestInfo is a destination as the admin API lists it: the scheduler's
// view (circuit state, in flight, last error, next probe) and the spool's
// count of its pending deliveries.
type DestInfo struct {
	scheduler.DestInfo
	Pending int64 `json:"pending"`
}

// Destinations returns every destination the scheduler knows, in
// destination order, with its pending deliveries as the spool counts them.
func (s *Service) Destinations() ([]DestInfo, error) {
	ds, err := s.sched.Destinations()
	if err != nil {
		return nil, err
	}
	out := make([]DestInfo, len(ds))
	for i, d := range ds {
		out[i] = DestInfo{DestInfo: d, Pending: s.spool.Pending(d.Destination)}
	}
	return out, nil
}

// destCache memoises sender.DestKey for the URLs seen, which come from
// configuration and repeat; it is cleared when it holds maxDestCache.
type destCache struct {
	mu sync.RWMutex
	m  map[string]string
}

const maxDestCache = 4096

func (c *destCache) get(u string) (string, error) {
	c.mu.RLock()
	k, ok := c.m[u]
	c.mu.RUnlock()
	if ok {
		return k, nil
	}
	k, err := sender.DestKey(u)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	if len(c.m) >= maxDestCache {
		clear(c.m)
	}
	c.m[u] = k
	c.mu.Unlock()
	return k, nil
}
