package scheduler

import (
	"container/heap"
	"slices"
	"strings"
	"time"
)

// reclassifyEvery is how often the destinations with attempts in flight
// are checked for having become slow (an attempt running long).
const reclassifyEvery = 100 * time.Millisecond

// The scheduler's state is guarded by s.mu, and every change to it ends
// with a pump: Notify (new work), a worker's report (a slot freed) and the
// clock goroutine (work falling due, the safety-net scan). A worker that
// reports takes the next grant itself, whatever destination the turn gives
// it, so that an attempt costs no hand-over between goroutines.

// run is the clock: it wakes destinations whose work falls due or whose
// circuit's rest ends, runs the safety-net scan of the spool's
// destinations, and re-checks which busy destinations have become slow.
func (s *Scheduler) run() {
	defer close(s.done)
	t := time.NewTimer(0)
	defer t.Stop()
	var nextReclassify time.Time
	for {
		s.mu.Lock()
		now := s.o.Now()
		s.fire(now)
		if !now.Before(s.nextScan) {
			s.mu.Unlock()
			dds := s.q.Destinations(now) // outside the lock: it visits the spool's queues
			s.mu.Lock()
			for _, dd := range dds {
				s.announce(dd.Dest, dd.Due, now)
			}
			s.nextScan = now.Add(s.o.ScanInterval)
		}
		if !now.Before(nextReclassify) {
			for _, d := range s.dests {
				if d.inflight > 0 {
					s.reclassify(d, now)
				}
			}
			nextReclassify = now.Add(reclassifyEvery)
		}
		s.pump(now, nil)
		wake := s.nextScan
		if w, ok := s.timers.next(); ok && w.Before(wake) {
			wake = w
		}
		if s.inflight > 0 && nextReclassify.Before(wake) {
			wake = nextReclassify
		}
		s.mu.Unlock()
		t.Reset(max(wake.Sub(s.o.Now()), time.Millisecond))
		select {
		case <-s.quit:
			s.mu.Lock()
			s.stopped = true
			s.mu.Unlock()
			return
		case <-s.tick:
		case <-t.C:
		}
	}
}

// get returns dest's state, creating it; s.mu is held.
func (s *Scheduler) get(key string) *dest {
	d := s.dests[key]
	if d == nil {
		d = newDest(key, &s.o)
		s.dests[key] = d
	}
	return d
}

// announce notes that key has work due at due; s.mu is held.
func (s *Scheduler) announce(key string, due time.Time, now time.Time) {
	d := s.get(key)
	if d.due.IsZero() || due.Before(d.due) {
		d.due = due
	}
	s.route(d, now)
}

// route puts d where it waits: in the ring when it has due work and may
// take an attempt, in the timer heap for future work or the end of its
// circuit's rest, nowhere when it has nothing (and is forgotten when it
// holds nothing either). A destination at its limit is routed again by
// its next report. s.mu is held.
func (s *Scheduler) route(d *dest, now time.Time) {
	switch {
	case d.due.IsZero():
		if d.inflight == 0 && !d.open && !d.inRing && d.heapAt < 0 {
			delete(s.dests, d.key)
		}
	case d.due.After(now):
		s.wakeAt(d, d.due)
	case d.probing:
		// its probe's report routes it
	case d.blocked(now):
		s.wakeAt(d, d.until) // the probe when the rest ends
	case !d.inRing && d.inflight < d.maxInflight(&s.o):
		s.ring.push(d)
	}
}

// wakeAt makes the clock look at d at t, waking it if that is earlier
// than it planned.
func (s *Scheduler) wakeAt(d *dest, t time.Time) {
	first, _ := s.timers.next()
	s.timers.wake(d, t)
	if t.Before(first) || s.timers.Len() == 1 {
		select {
		case s.tick <- struct{}{}:
		default:
		}
	}
}

// fire routes the destinations whose wake time has come; s.mu is held.
func (s *Scheduler) fire(now time.Time) {
	for {
		w, ok := s.timers.next()
		if !ok || w.After(now) {
			return
		}
		s.route(heap.Pop(&s.timers).(*dest), now)
	}
}

// pump grants free slots to the destinations in the ring, one per turn,
// going round while slots are free and some destination takes one; it
// stops after a whole turn in which none could. With mine set (a worker
// asking for its next grant), the first grant is returned for that worker
// to run instead of being submitted to the pool. s.mu is held.
func (s *Scheduler) pump(now time.Time, mine *grantTo) {
	if !s.started || s.stopped {
		return
	}
	budget := s.o.slowBudget()
	for stalled := 0; s.ring.len() > stalled && s.inflight < s.o.Workers; {
		d := s.ring.pop()
		if d.due.IsZero() || d.due.After(now) || d.blocked(now) {
			s.route(d, now)
			continue
		}
		if d.inflight >= d.maxInflight(&s.o) {
			continue // routed again by its next report
		}
		s.reclassify(d, now)
		if d.slow && s.slowInflight >= budget {
			s.ring.push(d) // slow destinations share half the pool
			stalled++
			continue
		}
		s.start(d, now)
		if mine != nil && mine.d == nil {
			mine.d, mine.start = d, now
		} else {
			s.submit(d, now)
		}
		stalled = 0
		if d.inflight < d.maxInflight(&s.o) {
			s.ring.push(d)
		}
	}
}

// grantTo is the grant a reporting worker takes for itself.
type grantTo struct {
	d     *dest
	start time.Time
}

// reclassify updates whether d counts as slow, keeping slowInflight the
// sum of the slow destinations' attempts in flight; s.mu is held.
func (s *Scheduler) reclassify(d *dest, now time.Time) {
	if slow := d.isSlow(now, &s.o); slow != d.slow {
		if slow {
			s.slowInflight += d.inflight
		} else {
			s.slowInflight -= d.inflight
		}
		d.slow = slow
	}
}

// start counts a grant of d; s.mu is held.
func (s *Scheduler) start(d *dest, now time.Time) {
	d.circuit.started()
	d.inflight++
	d.started = append(d.started, now)
	s.inflight++
	if d.slow {
		s.slowInflight++
	}
	s.running.Add(1)
}

// submit runs a grant of d in a pool worker; s.mu is held. When the pool
// refuses it (it is closing), the grant is undone.
func (s *Scheduler) submit(d *dest, now time.Time) {
	if err := s.pool.Submit(func() { s.work(d, now) }); err != nil {
		s.running.Done()
		d.inflight--
		s.inflight--
		if d.slow {
			s.slowInflight--
		}
		d.finished(now)
		d.probing = false
		s.log.Warn("scheduler: attempt not started", "destination", d.key, "err", err)
	}
}

// work runs grants: the one it was given, then, after each report, the
// next grant of the turn if the pump gives it one.
func (s *Scheduler) work(d *dest, start time.Time) {
	for d != nil {
		began := s.o.Now()
		r := s.attempt(d.key)
		if r.Latency <= 0 {
			r.Latency = s.o.Now().Sub(began)
		}
		s.running.Done()
		var next grantTo
		s.mu.Lock()
		s.handle(report{Report: r, d: d, start: start}, &next)
		s.mu.Unlock()
		d, start = next.d, next.start
	}
}

// handle takes a worker's report: the slot is free again, the
// destination's limit, latency and circuit learn from the attempt, the
// spool says when the destination next has due work, and the freed slot
// is granted (to mine, when set). s.mu is held.
func (s *Scheduler) handle(r report, mine *grantTo) {
	now := s.o.Now()
	d := r.d
	d.inflight--
	s.inflight--
	if d.slow {
		s.slowInflight--
	}
	d.finished(r.start)
	switch {
	case r.Empty || r.Local:
		if d.probing { // the probe did not happen
			d.probing = false
		}
		if r.Local && r.Error != "" {
			s.log.Warn("scheduler: attempt not made", "destination", d.key, "err", r.Error)
		}
	default:
		d.observe(r.Report, &s.o)
		if !r.Healthy {
			d.lastErr = r.Error
		}
		if d.record(r.Healthy, now, &s.o) {
			s.circuitChanged(d, now, &r.Report)
		}
	}
	s.reclassify(d, now)
	d.due = s.q.Next(d.key, now)
	s.route(d, now)
	s.pump(now, mine)
}

// circuitChanged logs a circuit's change, naming the delivery whose
// attempt changed it (r), and tells the spool whether the destination
// rests; s.mu is held.
func (s *Scheduler) circuitChanged(d *dest, now time.Time, r *Report) {
	s.q.Rest(d.key, d.open)
	if d.open {
		s.log.Warn("scheduler: destination circuit opened", "destination", d.key, "state", d.state(now),
			"rest", d.cooldown.String(), "last_error", d.lastErr, "delivery", r.Delivery, "env", r.Env,
			"integration", r.Integration, "trace_id", r.TraceID)
		return
	}
	s.log.Info("scheduler: destination circuit closed", "destination", d.key, "state", d.state(now),
		"delivery", r.Delivery, "env", r.Env, "integration", r.Integration, "trace_id", r.TraceID)
}

// snapshot lists the destinations; s.mu is held.
func (s *Scheduler) snapshot(now time.Time) []DestInfo {
	out := make([]DestInfo, 0, len(s.dests))
	for _, d := range s.dests {
		out = append(out, d.info(now, &s.o))
	}
	slices.SortFunc(out, func(a, b DestInfo) int { return strings.Compare(a.Destination, b.Destination) })
	return out
}
