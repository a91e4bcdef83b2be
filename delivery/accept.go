package delivery

import (
	"time"
)

// Accept spools ev durably and returns its id once it is on disk; its
// forwards are then delivered in the background. A duplicate of a dedupe
// key seen within its window stores nothing and returns the first event's
// id with Duplicate set. Accept returns ErrOverloaded, storing nothing,
// when Options.MaxPending or Options.MaxSyncWaiters would be exceeded. It
// copies what it keeps from ev.
func (s *Service) Accept(ev *Event) (Result, error) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return Result{}, errClosed
	}
	if s.spool.Pending()+int64(len(ev.Forwards)) > int64(s.opts.MaxPending) {
		return Result{}, ErrOverloaded
	}
	select {
	case s.waiters <- struct{}{}:
		defer func() { <-s.waiters }()
	default:
		return Result{}, ErrOverloaded
	}
	now := s.opts.Now()
	id := newEventID(now)
	recs, err := records(ev, id, now)
	if err != nil {
		return Result{}, err
	}
	mem := s.reserve(recs)
	var first string
	var dup bool
	err = s.withStore(func() (err error) {
		first, dup, err = s.spool.Append(dedupeOf(ev, id, now), recs)
		return err
	})
	if err != nil || dup {
		s.unreserve(recs, mem)
		return Result{ID: first, Duplicate: dup}, err
	}
	s.noteAccepted(recs, mem, now)
	return Result{ID: id}, nil
}

// reserve decides, before recs are committed, which of them are handed to
// their destination in memory once they are on disk (the fast path): those
// whose destination has a closed circuit and room in memory. Their ids are
// held from now on, so the loader never takes them from disk: otherwise it
// could load, send and finish one between its commit and noteAccepted,
// which would then send it again. A load already scanning may still find
// one; it is listed in the destination's pushed set, which that load skips.
// mem[i] reports whether recs[i] is reserved.
func (s *Service) reserve(recs []*Record) []bool {
	mem := make([]bool, len(recs))
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		return mem
	}
	for i, r := range recs {
		d := s.destLocked(r.Dest)
		if d.open || len(d.held) >= s.perDest || s.inMem >= s.opts.MaxInMemory ||
			s.memBody+len(r.Body) > s.opts.MaxMemoryBodies {
			continue
		}
		mem[i] = true
		d.held[r.ID] = true
		s.inMem++
		s.memBody += len(r.Body)
		if d.loading {
			if d.pushed == nil {
				d.pushed = map[string]bool{}
			}
			d.pushed[r.ID] = true
		}
	}
	return mem
}

// unreserve undoes reserve for records that were not stored.
func (s *Service) unreserve(recs []*Record, mem []bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, r := range recs {
		if mem[i] {
			d := s.destLocked(r.Dest)
			delete(d.held, r.ID)
			delete(d.pushed, r.ID)
			s.inMem--
			s.memBody -= len(r.Body)
		}
	}
}

// noteAccepted hands committed deliveries over for sending: reserved ones
// are queued in memory, with their body, and started if their
// destination's cap allows, so the common case reads nothing back from
// disk; the others stay on disk and the loader is woken. Ordering is not
// guaranteed (SPEC §6): a new event may overtake a backlog on disk, which
// is loaded as memory frees up.
func (s *Service) noteAccepted(recs []*Record, mem []bool, now time.Time) {
	toDisk := false
	s.mu.Lock()
	for i, r := range recs {
		d := s.destLocked(r.Dest)
		if mem[i] {
			d.push(r)
			s.dispatchDest(d, now)
			continue
		}
		r.Body = nil
		d.noteDisk(now)
		toDisk = true
	}
	s.mu.Unlock()
	if toDisk {
		s.wake()
	}
}

// dedupeOf returns the dedupe record of ev, nil without a dedupe key or
// window.
func dedupeOf(ev *Event, id string, now time.Time) *Dedupe {
	if ev.DedupeKey == "" || ev.DedupeTTL <= 0 {
		return nil
	}
	return &Dedupe{Env: ev.Env, Integration: ev.Integration, Key: ev.DedupeKey,
		EventID: id, Now: now, Expires: now.Add(ev.DedupeTTL)}
}

// records builds one delivery per forward of ev, with its body; forwards
// with the same delivery id (a derived id: same connection and URL) are
// sent once.
func records(ev *Event, eventID string, now time.Time) ([]*Record, error) {
	if len(ev.Forwards) == 0 {
		return nil, nil
	}
	header := append([]byte(nil), ev.Header...)
	tp := ev.TraceParent
	if tp == "" {
		tp = newTraceParent()
	}
	recs := make([]*Record, 0, len(ev.Forwards))
	for i := range ev.Forwards {
		f := &ev.Forwards[i]
		dk, err := destKeys.get(f.URL)
		if err != nil {
			return nil, err
		}
		id := newDeliveryID(ev, f, now)
		if hasID(recs, id) {
			continue
		}
		recs = append(recs, &Record{
			ID: id, EventID: eventID, Env: ev.Env, Integration: ev.Integration,
			ConnectionID: f.ConnectionID, URL: f.URL, Dest: dk, TraceParent: tp,
			Header: header, Created: now, Due: now,
			Body: appendForwardBody(nil, ev.Provider, ev.Integration, f.ConnectionID, f.Payload),
		})
	}
	return recs, nil
}

func hasID(recs []*Record, id string) bool {
	for _, r := range recs {
		if r.ID == id {
			return true
		}
	}
	return false
}
