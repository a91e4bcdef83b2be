// Package scheduler decides which destination's delivery is attempted
// next, fairly by construction:
//
//   - destinations with due work are served round-robin, one worker slot
//     granted per turn, and a worker returns its slot after every attempt;
//   - a destination holds at most its concurrency cap, at most an eighth
//     of the pool, and at most its adaptive limit, which starts low, grows
//     with fast replies and falls with slow ones (cap × SlowLatency ÷
//     observed latency);
//   - destinations that answer slowly, or whose oldest attempt in flight
//     is older than SlowLatency, share at most half of the pool, so that a
//     fresh event to a healthy destination always finds a free worker;
//   - a destination whose circuit is open (after consecutive failures)
//     gets no attempt until its rest ends, then one probe, and the spool
//     is told it keeps nothing in memory for it meanwhile; its deliveries
//     wait, and go as soon as a probe succeeds;
//   - first attempts before retries: the spool leases them first.
//
// The scheduler holds no deliveries: a granted worker leases one from the
// spool, attempts it and records the result there (the Attempt function),
// then reports back. When a destination next has due work is the spool's
// to say (Queue.Next); the scheduler only remembers when to ask again.
package scheduler

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/panjf2000/ants/v2"

	"github.com/edgehook/edgehook/delivery/spool"
)

// Queue is what the scheduler needs of the spool.
type Queue interface {
	Next(dest string, now time.Time) time.Time
	Destinations(now time.Time) []spool.DestDue
	Rest(dest string, resting bool)
}

// Attempt runs in a worker granted a slot for dest: it leases one due
// delivery of dest from the spool, attempts it and records the result in
// the spool, and reports what happened.
type Attempt func(dest string) Report

// Report is what an Attempt tells the scheduler.
type Report struct {
	// Empty: nothing of dest was due, no attempt was made.
	Empty bool
	// Local: the attempt did not reach the destination through a fault
	// of ours (configuration unavailable, a disk error); the destination's
	// circuit and limit ignore it.
	Local bool
	// Healthy: the reply shows a working destination (anything but a
	// transport error, a timeout, 408, 429 or 5xx).
	Healthy bool
	// Latency is how long the attempt took.
	Latency time.Duration
	// Error describes a failed attempt, for the destination listing.
	Error string
	// Delivery, Env, Integration and TraceID name the delivery attempted,
	// for the log line of a circuit the attempt opened or closed.
	Delivery, Env, Integration, TraceID string
}

// Options configures a Scheduler. Zero values take the defaults noted.
type Options struct {
	Workers      int           // the worker pool, all destinations; 256
	PerDest      int           // concurrency cap of one destination; 32
	InitialLimit int           // a new destination's limit; 4
	SlowLatency  time.Duration // above it a destination is slow; 1s
	// CircuitThreshold consecutive failed attempts open a destination's
	// circuit for CircuitCooldown; each failed probe doubles the rest, up
	// to CircuitMaxCooldown. 5, 10s, 5m.
	CircuitThreshold   int
	CircuitCooldown    time.Duration
	CircuitMaxCooldown time.Duration
	// ScanInterval is how often the spool's destinations are listed as a
	// safety net for work nobody announced (another process's, an expired
	// lease); 1s.
	ScanInterval time.Duration
	Logger       *slog.Logger
	Now          func() time.Time
}

func (o Options) withDefaults() Options {
	def := func(p *int, v int) {
		if *p <= 0 {
			*p = v
		}
	}
	defd := func(p *time.Duration, v time.Duration) {
		if *p <= 0 {
			*p = v
		}
	}
	def(&o.Workers, 256)
	def(&o.PerDest, 32)
	def(&o.InitialLimit, 4)
	def(&o.CircuitThreshold, 5)
	defd(&o.SlowLatency, time.Second)
	defd(&o.CircuitCooldown, 10*time.Second)
	defd(&o.CircuitMaxCooldown, 5*time.Minute)
	defd(&o.ScanInterval, time.Second)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// cap is the most attempts one destination may have in flight.
func (o *Options) cap() int { return max(1, min(o.PerDest, o.Workers/8)) }

// slowBudget is the most attempts slow destinations may have in flight
// together.
func (o *Options) slowBudget() int { return max(1, o.Workers/2) }

// Scheduler dispatches attempts; see the package comment.
type Scheduler struct {
	o       Options
	q       Queue
	attempt Attempt
	pool    *ants.Pool
	log     *slog.Logger

	tick    chan struct{} // wakes the clock for an earlier wake time
	quit    chan struct{}
	done    chan struct{}
	running sync.WaitGroup // attempts in flight

	mu           sync.Mutex // guards what follows (see dispatch.go)
	dests        map[string]*dest
	ring         ring
	timers       timerHeap
	inflight     int
	slowInflight int
	nextScan     time.Time
	started      bool // grants are made only between Start and Stop
	stopped      bool
}

// report is a Report with its grant.
type report struct {
	Report
	d     *dest
	start time.Time
}

// New returns a Scheduler dispatching attempt over q's destinations.
func New(q Queue, attempt Attempt, o Options) (*Scheduler, error) {
	o = o.withDefaults()
	pool, err := ants.NewPool(o.Workers, ants.WithNonblocking(true), ants.WithPanicHandler(func(p any) {
		o.Logger.Error("scheduler: attempt panicked", "panic", fmt.Sprint(p))
	}))
	if err != nil {
		return nil, fmt.Errorf("scheduler: worker pool: %w", err)
	}
	return &Scheduler{
		o: o, q: q, attempt: attempt, pool: pool, log: o.Logger,
		tick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{}),
		dests: map[string]*dest{},
	}, nil
}

// Start starts granting attempts, and the clock.
func (s *Scheduler) Start() {
	s.mu.Lock()
	s.started = true
	s.mu.Unlock()
	go s.run()
}

// Notify announces work of dest due at due (an append, a redrive), and
// grants it a slot if one is free.
func (s *Scheduler) Notify(dest string, due time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.o.Now()
	s.announce(dest, due, now)
	s.pump(now, nil)
}

// Stop stops granting attempts and waits up to timeout for those in
// flight; it reports whether they all ended. An attempt still running is
// abandoned: the spool's lease on its delivery ends with the process.
func (s *Scheduler) Stop(timeout time.Duration) bool {
	select {
	case <-s.quit:
	default:
		close(s.quit)
	}
	<-s.done
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	ended := make(chan struct{})
	go func() { s.running.Wait(); close(ended) }()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-ended:
		s.pool.Release()
		return true
	case <-t.C:
		return false
	}
}

// Pool returns how many workers are running an attempt and the size of
// the worker pool.
func (s *Scheduler) Pool() (running, capacity int) { return s.pool.Running(), s.pool.Cap() }

// Destinations returns the state of every destination the scheduler
// knows, for the admin API.
func (s *Scheduler) Destinations() ([]DestInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snapshot(s.o.Now()), nil
}
