package delivery

import (
	"errors"
	"time"

	"github.com/edgehook/edgehook/delivery/spool"
)

// Accept spools ev durably and returns its id once it is on disk; its
// deliveries are then made in the background. A duplicate of a dedupe key
// seen within its window stores nothing and returns the first event's id
// with Duplicate set. Accept returns ErrOverloaded, storing nothing, when
// a spool budget or Options.MaxSyncWaiters would be exceeded. It copies
// what it keeps from ev.
func (s *Service) Accept(ev *Event) (Result, error) {
	select {
	case s.waiters <- struct{}{}:
		defer func() { <-s.waiters }()
	default:
		return Result{}, ErrOverloaded
	}
	now := s.opts.Now()
	id := newEventID(now)
	b := &spool.Batch{EventID: id, Bodies: make([]spool.BodyIn, len(ev.Parts))}
	for i, p := range ev.Parts {
		b.Bodies[i] = spool.BodyIn{Header: ev.Header, Payload: p}
	}
	if ev.DedupeKey != "" && ev.DedupeTTL > 0 {
		b.Dedupe = &spool.Dedupe{Env: ev.Env, Integration: ev.Integration, Key: ev.DedupeKey,
			EventID: id, Now: now, Expires: now.Add(ev.DedupeTTL)}
	}
	tp := ev.TraceParent
	if tp == "" && len(ev.Targets) > 0 {
		tp = newTraceParent()
	}
	for i := range ev.Targets {
		t := &ev.Targets[i]
		dest, err := s.dests.get(t.URL)
		if err != nil {
			return Result{}, err
		}
		did := newDeliveryID(ev, t, now)
		if hasID(b.Deliveries, did) { // the same connection and URL twice
			continue
		}
		b.Deliveries = append(b.Deliveries, &spool.Delivery{
			ID: did, EventID: id, Kind: t.Kind, Env: ev.Env, Integration: ev.Integration, Provider: ev.Provider,
			ConnectionID: t.ConnectionID, SyncName: t.SyncName, Model: t.Model, URL: t.URL, Dest: dest,
			Part: t.Part, TraceParent: tp, Received: now, Created: now, Due: now, Expires: now.Add(s.span),
		})
	}
	start := time.Now()
	res, err := s.spool.Append(b)
	if err == nil && !res.Duplicate {
		s.metrics.commit.Observe(time.Since(start).Seconds())
	}
	switch {
	case errors.Is(err, spool.ErrOverloaded):
		return Result{}, ErrOverloaded
	case err != nil:
		return Result{}, err
	case res.Duplicate:
		return Result{ID: res.FirstID, Duplicate: true}, nil
	}
	out := Result{ID: id}
	for i, d := range b.Deliveries {
		if ev.WantIDs {
			out.Deliveries = append(out.Deliveries, d.ID)
		}
		if i == 0 || d.Dest != b.Deliveries[i-1].Dest {
			s.sched.Notify(d.Dest, now)
		}
	}
	return out, nil
}

func hasID(ds []*spool.Delivery, id string) bool {
	for _, d := range ds {
		if d.ID == id {
			return true
		}
	}
	return false
}
