package spool

import (
	"errors"
	"time"
)

// jsSweepScan bounds the deliveries of one destination and class one
// Sweep holds at once (well under the consumers' MaxAckPending).
const jsSweepScan = 1024

// jsSweepBatch is how many deliveries one fetch of a sweep asks for.
const jsSweepBatch = 64

// Pending implements Spool: the deliveries queued on dest's two
// consumers (due, ready or leased on any instance), as of the last poll,
// and its retries waiting for their time, as last counted (countScheduled).
// A destination's consumers exist once an instance has leased from it
// or written for it; before that it counts 0.
func (j *jsSpool) Pending(dest string) int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	if q := j.dests[dest]; q != nil {
		return q.counted[0] + q.counted[1] + q.scheduled
	}
	return 0
}

// Sweep implements Spool for the destinations this process was told to
// rest. It fetches a resting destination's due deliveries from its
// consumers (holding them, so no instance leases them meanwhile),
// dead-letters those whose schedule has run out and hands the others
// back, due at once. First attempts never rewritten come in the order
// they were appended, which is their expiry order, so the first of them
// still in its schedule ends the read of that class. A destination is
// looked at again when the earliest expiry it was left with comes, or
// when a retry of it comes due. Retries still waiting for their time
// (scheduled messages) are not due, and so not swept, as in the
// embedded store.
func (j *jsSpool) Sweep(now time.Time, max int, reason string) ([]*Delivery, error) {
	var qs []*jsDest
	err := j.use(func() error { // not held while sweeping: Dead and Release take it
		j.mu.Lock()
		defer j.mu.Unlock()
		for _, q := range j.dests {
			if q.resting && !now.Before(q.sweep) {
				qs = append(qs, q)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var (
		out  []*Delivery
		errs []error
	)
	for _, q := range qs {
		if len(out) >= max {
			break
		}
		ds, err := j.sweepDest(q, now, max-len(out), reason)
		out = append(out, ds...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return out, errors.Join(errs...)
}

// sweepDest sweeps resting destination q: up to max dead letters.
func (j *jsSpool) sweepDest(q *jsDest, now time.Time, max int, reason string) ([]*Delivery, error) {
	j.mu.Lock()
	q.woke = false
	j.mu.Unlock()
	var (
		out, keep []*Delivery
		next      time.Time // the earliest expiry left
		more      bool      // stopped at a bound: look again at once
		errs      []error
	)
	for cl := range 2 {
		held := 0
	class:
		for held < jsSweepScan {
			ds, err := j.fetchNow(q, cl, min(jsSweepBatch, jsSweepScan-held), j.o.AckWait)
			if err != nil && len(ds) == 0 {
				errs = append(errs, err)
				more = true
				break
			}
			if len(ds) == 0 {
				break
			}
			held += len(ds)
			for i, d := range ds {
				if !d.Expires.IsZero() && !now.Before(d.Expires) && len(out) < max {
					if err := j.Dead(d, Attempt{}, StatusDead, reason); err != nil {
						errs = append(errs, err)
						keep = append(keep, d)
						continue
					}
					dead := *d
					dead.Status, dead.Reason, dead.Due, dead.lease = StatusDead, reason, now, 0
					out = append(out, &dead)
					continue
				}
				keep = append(keep, d)
				if d.Expires.IsZero() || now.Before(d.Expires) {
					if !d.Expires.IsZero() && (next.IsZero() || d.Expires.Before(next)) {
						next = d.Expires
					}
					if cl == classFirst && d.moves == 0 {
						keep = append(keep, ds[i+1:]...)
						break class
					}
				} else {
					more = true // expired, beyond max
				}
			}
		}
		if held >= jsSweepScan {
			more = true
		}
	}
	for _, d := range keep {
		if err := j.Release(d, time.Time{}); err != nil && !errors.Is(err, ErrLeaseLost) {
			errs = append(errs, err)
		}
	}
	j.mu.Lock()
	switch {
	case more || q.woke:
		q.sweep = time.Time{}
	case next.IsZero(): // nothing due that can run out: first attempts appended meanwhile
		q.sweep = now.Add(j.o.Poll)
	default:
		q.sweep = next
	}
	q.woke = false
	j.mu.Unlock()
	return out, errors.Join(errs...)
}
