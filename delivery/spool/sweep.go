package spool

import (
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// sweepBy makes q's next sweep no later than t (a delivery's Expires;
// zero, which never expires, changes nothing); q.mu is held.
func (q *dq) sweepBy(t time.Time) {
	if !t.IsZero() && (!q.sweepSet || t.Before(q.sweep)) {
		q.sweep, q.sweepSet = t, true
	}
}

// Sweep implements Spool. It visits only resting destinations whose
// earliest possible expiry has come, and reads each one's queue from its
// head up to the first delivery not yet due, with one shortcut: a first
// attempt never rewritten (moves 0) is due when it was created, and
// expires a schedule's span after that, so among those due order is
// expiry order and the first still in its schedule ends the read of its
// class. The rest of a resting queue's due deliveries are few: retries
// made before the circuit opened and by its probes, and first attempts
// put back later after a failure of ours or redriven. Such a moved first
// attempt sorts by its new due time, behind first attempts that may
// expire after it; it is dead-lettered once those have run out too, at
// most a span after its due time (TestSpoolModel checks both bounds).
func (p *pebbleSpool) Sweep(now time.Time, max int, reason string) (out []*Delivery, err error) {
	err = p.use(func() error {
		p.dmu.Lock()
		var qs []*dq
		for _, q := range p.dqs {
			qs = append(qs, q)
		}
		p.dmu.Unlock()
		for _, q := range qs {
			if len(out) >= max {
				return nil
			}
			q.mu.Lock()
			if q.dropped || !q.resting || !q.sweepSet || now.Before(q.sweep) {
				q.mu.Unlock()
				continue
			}
			ds, err := p.sweepLocked(q, now, max-len(out), reason)
			p.unlockDQ(q)
			if err != nil {
				return err
			}
			out = append(out, ds...)
		}
		return nil
	})
	return out, err
}

// sweepLocked dead-letters up to max of resting queue q's due deliveries
// that ran out of their schedule at now, in one write, and sets q's next
// sweep; q.mu is held.
func (p *pebbleSpool) sweepLocked(q *dq, now time.Time, max int, reason string) ([]*Delivery, error) {
	p.expireLeases(q, now)
	for i := range q.win { // resting: the windows hold nothing but what a probe left
		p.uncache(q.win[i].clear())
	}
	var expired []*Delivery
	q.sweep, q.sweepSet = time.Time{}, false
	for cl := range q.win {
		pfx := queuePrefix(q.key, cl)
		it, err := p.db.NewIter(&pebble.IterOptions{LowerBound: pfx, UpperBound: prefixEnd(pfx)})
		if err != nil {
			return nil, fmt.Errorf("spool: reading queue: %w", err)
		}
		for ok := it.First(); ok; ok = it.Next() {
			if len(expired) >= max {
				q.sweepBy(now) // more to do
				break
			}
			due, id, valid := parseSuffix(it.Key()[len(pfx):])
			if !valid || q.busy(id) {
				continue
			}
			if due.After(now) {
				q.sweepBy(due)
				break
			}
			v, err := it.ValueAndErr()
			if err != nil {
				it.Close()
				return nil, fmt.Errorf("spool: reading queue: %w", err)
			}
			d, err := decodeDelivery(v)
			if err != nil || d.ID != id {
				continue // scan logs it
			}
			d.rsize = len(v)
			if d.Expires.IsZero() || now.Before(d.Expires) {
				q.sweepBy(d.Expires)
				if cl == classFirst && d.moves == 0 {
					break
				}
				continue
			}
			expired = append(expired, d)
		}
		if err := closeIter(it); err != nil {
			return nil, err
		}
	}
	if len(expired) == 0 {
		return nil, nil
	}
	w := p.db.NewBatch()
	defer w.Close()
	var delta int64
	out := make([]*Delivery, len(expired))
	for i, old := range expired {
		next := *old
		next.Status, next.Reason, next.Due, next.moves = StatusDead, reason, now, old.moves+1
		delta += p.removeQueued(w, old) + p.putDead(w, &next)
		out[i] = &next
	}
	if err := p.commit(w, false, delta); err != nil {
		q.sweepBy(now)
		return nil, err
	}
	q.pending -= len(out)
	p.pending.Add(-int64(len(out)))
	p.dead.Add(int64(len(out)))
	return out, nil
}
