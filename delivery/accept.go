package delivery

import (
	"time"
)

// defaultDedupeTTL is the dedupe window when an event gives none.
const defaultDedupeTTL = 24 * time.Hour

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
	var first string
	var dup bool
	err = s.withStore(func() (err error) {
		recs, first, dup, err = s.spool.Append(dedupeOf(ev, id, now), recs)
		return err
	})
	if err != nil || dup {
		return Result{ID: first, Duplicate: dup}, err
	}
	s.noteAccepted(recs, now)
	return Result{ID: id}, nil
}

// noteAccepted hands new, committed deliveries over for sending. A
// delivery whose destination has no backlog on disk, a closed circuit and
// room in memory is queued in memory directly, with its body, and started
// if the destination's cap allows: the common case reads nothing back from
// disk. Otherwise it stays on disk and the loader is woken.
//
// A destination with no known disk work (wake zero) is never being loaded,
// since only the loader's own completed load zeroes wake; so the loader
// never sees a delivery queued here, which could otherwise be sent twice.
func (s *Service) noteAccepted(recs []*Record, now time.Time) {
	if len(recs) == 0 {
		return
	}
	toDisk := false
	s.mu.Lock()
	for _, r := range recs {
		d := s.destLocked(r.Dest)
		if d.held[r.ID] {
			continue // a load that just finished queued it already
		}
		if s.started && d.wake.IsZero() && !d.open && len(d.held) < s.perDest &&
			s.inMem < s.opts.MaxInMemory && s.memBody+len(r.Body) <= s.opts.MaxMemoryBodies {
			d.push(r)
			s.inMem++
			s.memBody += len(r.Body)
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

// dedupeOf returns the dedupe record of ev, nil without a dedupe key.
func dedupeOf(ev *Event, id string, now time.Time) *Dedupe {
	if ev.DedupeKey == "" {
		return nil
	}
	ttl := ev.DedupeTTL
	if ttl <= 0 {
		ttl = defaultDedupeTTL
	}
	return &Dedupe{Env: ev.Env, Integration: ev.Integration, Key: ev.DedupeKey,
		EventID: id, Now: now, Expires: now.Add(ttl)}
}

// records builds one delivery per forward of ev, with its body; forwards
// with the same delivery id are sent once.
func records(ev *Event, eventID string, now time.Time) ([]*Record, error) {
	header := filterHeader(ev.Header)
	tp := ev.TraceParent
	if tp == "" {
		tp = newTraceParent()
	}
	recs := make([]*Record, 0, len(ev.Forwards))
	seen := make(map[string]bool, len(ev.Forwards))
	for i := range ev.Forwards {
		f := &ev.Forwards[i]
		dk, err := destKey(f.URL)
		if err != nil {
			return nil, err
		}
		id := newDeliveryID(ev, f)
		if seen[id] {
			continue
		}
		seen[id] = true
		recs = append(recs, &Record{
			ID: id, EventID: eventID, Env: ev.Env, Integration: ev.Integration,
			ConnectionID: f.ConnectionID, URL: f.URL, Dest: dk, TraceParent: tp,
			Header: header, Created: now, Due: now,
			Body: appendForwardBody(nil, ev.Provider, ev.Integration, f.ConnectionID, f.Payload),
		})
	}
	return recs, nil
}
