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

// run is the dispatcher: it merges announced work, wakes destinations
// whose work falls due, grants free worker slots round-robin and takes
// the workers' reports.
func (s *Scheduler) run() {
	defer close(s.done)
	t := time.NewTimer(0)
	defer t.Stop()
	var nextReclassify time.Time
	for {
		now := s.o.Now()
		s.merge(now)
		s.fire(now)
		if !now.Before(s.nextScan) {
			for _, dd := range s.q.Destinations(now) {
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
		s.pump(now)
		wake := s.nextScan
		if w, ok := s.timers.next(); ok && w.Before(wake) {
			wake = w
		}
		if s.inflight > 0 && nextReclassify.Before(wake) {
			wake = nextReclassify
		}
		t.Reset(max(wake.Sub(s.o.Now()), time.Millisecond))
		select {
		case <-s.quit:
			return
		case <-s.kick:
		case r := <-s.reports:
			s.handle(r)
			for more := true; more; {
				select {
				case r := <-s.reports:
					s.handle(r)
				default:
					more = false
				}
			}
		case ch := <-s.asks:
			ch <- s.snapshot(now)
		case <-t.C:
		}
	}
}

// get returns dest's state, creating it.
func (s *Scheduler) get(key string) *dest {
	d := s.dests[key]
	if d == nil {
		d = newDest(key, &s.o)
		s.dests[key] = d
	}
	return d
}

// merge takes the announced work.
func (s *Scheduler) merge(now time.Time) {
	s.notesMu.Lock()
	if len(s.notes) == 0 {
		s.notesMu.Unlock()
		return
	}
	notes := s.notes
	s.notes = make(map[string]time.Time, len(notes))
	s.notesMu.Unlock()
	for key, due := range notes {
		s.announce(key, due, now)
	}
}

// announce notes that key has work due at due.
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
// its next report.
func (s *Scheduler) route(d *dest, now time.Time) {
	switch {
	case d.due.IsZero():
		if d.inflight == 0 && !d.open && !d.inRing && d.heapAt < 0 {
			delete(s.dests, d.key)
		}
	case d.due.After(now):
		s.timers.wake(d, d.due)
	case d.probing:
		// its probe's report routes it
	case d.blocked(now):
		s.timers.wake(d, d.until) // the probe when the rest ends
	case !d.inRing && d.inflight < d.maxInflight(&s.o):
		s.ring.push(d)
	}
}

// fire routes the destinations whose wake time has come.
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
// stops after a whole turn in which none could.
func (s *Scheduler) pump(now time.Time) {
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
		s.grant(d, now)
		stalled = 0
		if d.inflight < d.maxInflight(&s.o) {
			s.ring.push(d)
		}
	}
}

// reclassify updates whether d counts as slow, keeping slowInflight the
// sum of the slow destinations' attempts in flight.
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

// grant runs one attempt of d in a worker.
func (s *Scheduler) grant(d *dest, now time.Time) {
	d.circuit.started()
	d.inflight++
	d.started = append(d.started, now)
	s.inflight++
	if d.slow {
		s.slowInflight++
	}
	s.running.Add(1)
	err := s.pool.Submit(func() {
		defer s.running.Done()
		start := s.o.Now()
		r := s.attempt(d.key)
		if r.Latency <= 0 {
			r.Latency = s.o.Now().Sub(start)
		}
		s.reports <- report{Report: r, d: d, start: now}
	})
	if err != nil {
		s.running.Done()
		s.handle(report{Report: Report{Local: true, Error: err.Error()}, d: d, start: now})
	}
}

// handle takes a worker's report: the slot is free again, the
// destination's limit, latency and circuit learn from the attempt, and the
// spool says when the destination next has due work.
func (s *Scheduler) handle(r report) {
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
}

// circuitChanged logs a circuit's change, naming the delivery whose
// attempt changed it (r); an opened circuit lets the spool drop what it
// keeps in memory for the destination.
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

func (s *Scheduler) snapshot(now time.Time) []DestInfo {
	out := make([]DestInfo, 0, len(s.dests))
	for _, d := range s.dests {
		out = append(out, d.info(now, &s.o))
	}
	slices.SortFunc(out, func(a, b DestInfo) int { return strings.Compare(a.Destination, b.Destination) })
	return out
}
