package delivery

import "time"

const (
	// idleWake bounds the loader's sleep when nothing is scheduled. Every
	// change that adds work wakes it; this is only a safety net.
	idleWake = time.Minute
	// loadRetry is how long a destination waits after its queue could not
	// be read.
	loadRetry = time.Second
	// expireBatch is how many dedupe records one ExpireDedupe call removes.
	expireBatch = 10000
)

// loop is the loader: it moves due deliveries from disk into the
// destinations' in-memory queues and dispatches them to the pool, then
// sleeps until the earliest known due time or a wake-up.
func (s *Service) loop() {
	defer s.loops.Done()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		next := s.pass()
		d := idleWake
		if !next.IsZero() {
			d = max(next.Sub(s.opts.Now()), time.Millisecond)
		}
		t.Reset(d)
		select {
		case <-s.quit:
			return
		case <-s.kick:
		case <-t.C:
		}
	}
}

// pass loads what is due and dispatches what is ready; it returns when the
// loader next has something to do (zero: nothing known).
func (s *Service) pass() time.Time {
	now := s.opts.Now()
	for _, l := range s.loadPlan(now) {
		s.load(l, now)
	}
	return s.dispatch(now)
}

// canLoad reports whether d has room for a load worth its scan: a quarter
// of its memory free (all of it when nothing is held), within the free
// global memory.
func (s *Service) canLoad(d *dest, free int) bool {
	room := min(s.perDest-len(d.held), free)
	return room > 0 && (room >= s.perDest/4 || len(d.held) == 0)
}

// loadJob is one destination's load: up to room deliveries not in held.
type loadJob struct {
	d    *dest
	room int
	gen  uint64
	held map[string]bool
}

// loadPlan picks the destinations with due work on disk, an allowing
// circuit and room in memory, within the global memory bound.
func (s *Service) loadPlan(now time.Time) []loadJob {
	s.mu.Lock()
	defer s.mu.Unlock()
	var plan []loadJob
	free := s.opts.MaxInMemory - s.inMem
	for _, d := range s.dests {
		if d.wake.IsZero() || d.wake.After(now) || d.blocked(now) || !s.canLoad(d, free) {
			continue
		}
		room := min(s.perDest-len(d.held), free)
		free -= room
		d.loading = true
		plan = append(plan, loadJob{d: d, room: room, gen: d.gen, held: d.heldIDs()})
	}
	return plan
}

// load reads l's due deliveries and queues them in memory (their number
// was bounded by the room planned). The held snapshot may be stale by
// then, so each id is checked again under the lock, and ids that
// noteAccepted queued during the load are skipped: such a delivery may be
// finished already, and queuing it again would send it twice. Unless new
// work landed on disk meanwhile, the destination's wake time becomes the
// earliest due time left on disk.
func (s *Service) load(l loadJob, now time.Time) {
	var recs []*Record
	var next time.Time
	err := s.withStore(func() (err error) {
		recs, next, err = s.spool.Due(l.d.key, now, l.room, func(id string) bool { return l.held[id] })
		return err
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	d := l.d
	s.loads++
	pushed := d.pushed
	d.loading, d.pushed = false, nil
	if err != nil {
		s.log.Error("delivery: reading the spool queue", "destination", d.key, "err", err)
		d.wake = now.Add(loadRetry)
		return
	}
	for _, r := range recs { // Due returns a delivery once: keep them all
		if d.held[r.ID] || pushed[r.ID] {
			continue
		}
		if s.memBody+len(r.Body) > s.opts.MaxMemoryBodies {
			r.Body = nil // read again when sent
		}
		d.push(r)
		s.inMem++
		s.memBody += len(r.Body)
	}
	if d.gen == l.gen {
		d.wake = next
	}
}

// dispatch starts attempts for ready deliveries within each destination's
// concurrency cap and circuit, drops idle destinations, and returns the
// earliest time a destination will need the loader.
func (s *Service) dispatch(now time.Time) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	var next time.Time
	earliest := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for key, d := range s.dests {
		s.dispatchDest(d, now)
		switch {
		case d.open:
			// Wake for the probe; a probe in flight wakes the loader when done.
			if !d.probing && (d.ready() > 0 || !d.wake.IsZero()) {
				earliest(d.until)
			}
		case !d.wake.IsZero() && s.canLoad(d, s.opts.MaxInMemory-s.inMem):
			earliest(d.wake) // else a finishing attempt wakes the loader
		case len(d.held) == 0 && d.wake.IsZero() && !d.loading:
			delete(s.dests, key) // nothing ready, in flight or reserved
		}
	}
	return next
}

// dispatchDest starts d's ready deliveries within its concurrency cap and
// circuit; s.mu is held.
func (s *Service) dispatchDest(d *dest, now time.Time) {
	for d.ready() > 0 && d.inflight < s.opts.PerDestConcurrency && d.allow(now) {
		if !s.startLocked(d, d.pop()) {
			return
		}
	}
}

// startLocked hands r, just popped from d, to the pool; s.mu is held. When
// the pool is full it puts r back and reports false: a finishing attempt
// wakes the loader to try again.
func (s *Service) startLocked(d *dest, r *Record) bool {
	d.inflight++
	s.inFlight++
	s.attempts.Add(1)
	if err := s.pool.Submit(func() { s.run(d, r) }); err != nil {
		d.unpop(r)
		d.inflight--
		s.inFlight--
		s.attempts.Done()
		return false
	}
	d.started()
	return true
}

// gcLoop removes expired dedupe records every DedupeGCInterval.
func (s *Service) gcLoop() {
	defer s.loops.Done()
	t := time.NewTicker(s.opts.DedupeGCInterval)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
			s.expireDedupe()
		}
	}
}

// expireDedupe removes expired dedupe records, batch by batch.
func (s *Service) expireDedupe() {
	for {
		var n int
		err := s.withStore(func() (err error) {
			n, err = s.spool.ExpireDedupe(s.opts.Now(), expireBatch)
			return err
		})
		if err != nil {
			s.log.Error("delivery: expiring dedupe records", "err", err)
			return
		}
		if n < expireBatch {
			return
		}
		select {
		case <-s.quit:
			return
		default:
		}
	}
}
