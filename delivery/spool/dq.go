package spool

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// dq is the state of one destination's queue: its two windows, its
// leases, and the deliveries being written into it. Every field is
// guarded by mu; window.go states the invariant they keep.
type dq struct {
	mu      sync.Mutex
	key     string
	win     [2]window           // classFirst, classRetry
	leased  map[string]*leaseOf // by delivery id
	writing map[string]struct{} // ids written, not yet published
	pending int                 // pending deliveries stored, leased or not
	resting bool                // its circuit is open: scans load what is asked, no more
	// sweep is when a resting queue's earliest due delivery may have run
	// out of its schedule, for Sweep; valid when sweepSet.
	sweep    time.Time
	sweepSet bool
	expiry   time.Time // no lease expires before; zero: none is held
	dropped  bool      // removed from the spool's map: look it up again
}

// leaseOf is one leased delivery.
type leaseOf struct {
	e       *entry
	token   uint64
	expires time.Time
	ending  bool // its result is being written; it does not expire
}

// busy reports whether id is leased or being written: scans skip it and
// its owner inserts it once done.
func (q *dq) busy(id string) bool {
	if _, ok := q.leased[id]; ok {
		return true
	}
	_, ok := q.writing[id]
	return ok
}

// dqLocked returns dest's queue state, creating it; p.dmu is held (or the
// spool is being opened). A new destination has nothing on disk, so its
// windows are full; one found at open is not yet read, so its windows are
// bounded at -∞.
func (p *pebbleSpool) dqLocked(dest string) *dq {
	q := p.dqs[dest]
	if q == nil {
		q = &dq{key: dest, leased: map[string]*leaseOf{}, writing: map[string]struct{}{}}
		q.resting, q.sweepSet = p.resting[dest], p.resting[dest]
		p.dqs[dest] = q
	}
	return q
}

// lockDQ returns dest's queue state locked, creating it when create is
// set; nil when it does not exist.
func (p *pebbleSpool) lockDQ(dest string, create bool) *dq {
	for {
		p.dmu.Lock()
		q := p.dqs[dest]
		if q == nil {
			if !create {
				p.dmu.Unlock()
				return nil
			}
			q = p.dqLocked(dest)
			if !q.resting { // a resting one keeps nothing in memory
				q.win[0].full, q.win[1].full = true, true
			}
		}
		p.dmu.Unlock()
		q.mu.Lock()
		if !q.dropped {
			return q
		}
		q.mu.Unlock()
	}
}

// unlockDQ unlocks q, first removing it from the spool when it holds
// nothing.
func (p *pebbleSpool) unlockDQ(q *dq) {
	empty := q.pending == 0 && len(q.leased) == 0 && len(q.writing) == 0
	q.mu.Unlock()
	if !empty {
		return
	}
	p.dmu.Lock()
	q.mu.Lock()
	if q.pending == 0 && len(q.leased) == 0 && len(q.writing) == 0 && !q.dropped {
		q.dropped = true
		for i := range q.win {
			p.uncache(q.win[i].clear())
		}
		delete(p.dqs, q.key)
	}
	q.mu.Unlock()
	p.dmu.Unlock()
}

// insertLocked puts e back into its window, if the window covers its key
// (see window.insert), keeping the memory bounds; q.mu is held.
func (p *pebbleSpool) insertLocked(q *dq, e *entry) {
	w := &q.win[classOf(e.d)]
	limit := p.o.PerDestCached
	if p.cached.Load() >= int64(p.o.MaxCached) {
		limit = len(w.items) // no growth: e or the last entry gives way
	}
	if e.body != nil && e.body.payload != nil && p.cachedBytes.Load()+e.body.size > p.o.MaxCachedBodies {
		e.body = nil // read again when sent
	}
	if q.resting {
		q.sweepBy(e.d.Expires)
	}
	added, evicted := w.insert(e, limit)
	if added {
		p.cached.Add(1)
		p.cachedBytes.Add(e.cachedBytes())
	}
	if evicted != nil && evicted != e {
		p.uncache([]*entry{evicted})
	}
}

// uncache accounts entries leaving memory.
func (p *pebbleSpool) uncache(es []*entry) {
	for _, e := range es {
		p.cached.Add(-1)
		p.cachedBytes.Add(-e.cachedBytes())
		e.body = nil
	}
}

func (e *entry) cachedBytes() int64 {
	if e.body == nil || e.body.payload == nil {
		return 0
	}
	return e.body.size
}

// Lease implements Spool.
func (p *pebbleSpool) Lease(dest string, now time.Time, max int, ttl time.Duration) (out []*Delivery, next time.Time, err error) {
	err = p.use(func() error {
		q := p.lockDQ(dest, false)
		if q == nil {
			return nil
		}
		defer p.unlockDQ(q)
		p.expireLeases(q, now)
		for cl := range q.win {
			w := &q.win[cl]
			for len(out) < max {
				if w.needsScan() {
					if err := p.scan(q, cl, max-len(out)); err != nil {
						return err
					}
				}
				e := w.front(now)
				if e == nil {
					break
				}
				w.pop()
				p.cached.Add(-1)
				p.cachedBytes.Add(-e.cachedBytes())
				l := &leaseOf{e: e, token: p.leaseSeq.Add(1), expires: now.Add(ttl)}
				q.leased[e.d.ID] = l
				if q.expiry.IsZero() || l.expires.Before(q.expiry) {
					q.expiry = l.expires
				}
				p.leased.Add(1)
				d := *e.d
				d.lease = l.token
				out = append(out, &d)
			}
		}
		next = q.next(now)
		return nil
	})
	return out, next, err
}

// next is the earliest due time of q's unleased deliveries: zero when
// none, now when the disk may hold some not read yet; q.mu is held.
func (q *dq) next(now time.Time) time.Time {
	var next time.Time
	for i := range q.win {
		w := &q.win[i]
		if w.needsScan() && q.pending > len(q.leased) {
			return now
		}
		if t, ok := w.next(); ok && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	return next
}

// scan refills window cl of q from the disk, from its bound, loading at
// least want deliveries (when there are that many) and at most what the
// memory bounds leave; q.mu is held and the window is empty. Deliveries
// that are busy are passed over: their owners insert them.
func (p *pebbleSpool) scan(q *dq, cl, want int) error {
	w := &q.win[cl]
	p.scans.Add(1)
	room := min(p.o.ScanBatch, p.o.PerDestCached, max(p.o.MaxCached-int(p.cached.Load()), 0))
	if q.resting {
		room = 0
	}
	n := max(want, room)
	pfx := queuePrefix(q.key, cl)
	lo := append(bytes.Clone(pfx), w.lim...)
	it, err := p.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(pfx)})
	if err != nil {
		return fmt.Errorf("spool: reading queue: %w", err)
	}
	var stop []byte
	loaded := 0
	for ok := it.First(); ok; ok = it.Next() {
		suffix := it.Key()[len(pfx):]
		if loaded >= n {
			stop = bytes.Clone(suffix)
			break
		}
		_, id, valid := parseSuffix(suffix)
		if !valid || q.busy(id) {
			continue
		}
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return fmt.Errorf("spool: reading queue: %w", err)
		}
		d, err := decodeDelivery(v)
		if err == nil {
			d.rsize = len(v)
		}
		if err != nil || d.ID != id {
			p.log.Error("spool: skipping a corrupt queue entry", "destination", q.key, "key", fmt.Sprintf("%q", it.Key()))
			continue
		}
		w.items = append(w.items, &entry{suffix: bytes.Clone(suffix), d: d}) // keys ≥ lim, in order
		p.cached.Add(1)
		loaded++
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("spool: reading queue: %w", err)
	}
	if stop == nil {
		w.full, w.lim = true, nil
	} else {
		w.lim = stop
	}
	return nil
}

// expireLeases returns to its window every lease of q past its expiry
// (its holder is gone); q.mu is held. It looks only once the earliest
// expiry has come.
func (p *pebbleSpool) expireLeases(q *dq, now time.Time) {
	if q.expiry.IsZero() || now.Before(q.expiry) {
		return
	}
	q.expiry = time.Time{}
	for id, l := range q.leased {
		if l.ending || !now.After(l.expires) {
			if q.expiry.IsZero() || l.expires.Before(q.expiry) {
				q.expiry = l.expires
			}
			continue
		}
		p.log.Warn("spool: a lease expired; the delivery is due again", "delivery", id, "destination", q.key)
		delete(q.leased, id)
		p.leased.Add(-1)
		p.insertLocked(q, l.e)
	}
}

// begin marks d's lease as ending and returns its entry: the stored
// delivery as leased. ErrLeaseLost when d is not leased under its token.
func (p *pebbleSpool) begin(d *Delivery) (*dq, *leaseOf, error) {
	q := p.lockDQ(d.Dest, false)
	if q == nil {
		return nil, nil, ErrLeaseLost
	}
	l := q.leased[d.ID]
	if l == nil || l.token != d.lease || l.ending {
		p.unlockDQ(q)
		return nil, nil, ErrLeaseLost
	}
	l.ending = true
	q.mu.Unlock()
	return q, l, nil
}

// end finishes a lease begun with begin: after a failed write the lease
// stays; after a written one it is removed, pendingDelta is applied and
// next (the delivery as rewritten, nil when it left the queue) is
// inserted.
func (p *pebbleSpool) end(q *dq, l *leaseOf, written bool, pendingDelta int, next *entry) {
	if written && next != nil && p.o.Hook != nil {
		p.o.Hook("publish", next.d)
	}
	q.mu.Lock()
	if !written {
		l.ending = false
		q.mu.Unlock()
		return
	}
	delete(q.leased, l.e.d.ID)
	p.leased.Add(-1)
	q.pending += pendingDelta
	if next != nil {
		p.insertLocked(q, next)
	}
	p.unlockDQ(q)
}

// Rest implements Spool: a resting destination's windows are emptied and
// bounded at -∞; its scans then load only what a Lease asks for, so they
// stay empty but for that.
func (p *pebbleSpool) Rest(dest string, resting bool) {
	p.dmu.Lock()
	if resting {
		p.resting[dest] = true
	} else {
		delete(p.resting, dest)
	}
	p.dmu.Unlock()
	q := p.lockDQ(dest, false)
	if q == nil {
		return
	}
	q.resting = resting
	q.sweep, q.sweepSet = time.Time{}, resting // a new rest: sweep at once
	if resting {
		for i := range q.win {
			p.uncache(q.win[i].clear())
		}
	}
	p.unlockDQ(q)
}

// Watch implements Spool: the embedded store holds only what its own
// process wrote, which announces it; f is never called.
func (p *pebbleSpool) Watch(func(dest string, due time.Time)) {}

// restingDests lists the destinations told to rest.
func (p *pebbleSpool) restingDests() []string {
	p.dmu.Lock()
	defer p.dmu.Unlock()
	return slices.Collect(maps.Keys(p.resting))
}

// Next implements Spool. A broken store has nothing due until it is
// replaced.
func (p *pebbleSpool) Next(dest string, now time.Time) time.Time {
	if p.f.broken.Load() {
		return now.Add(reopenEvery)
	}
	q := p.lockDQ(dest, false)
	if q == nil {
		return time.Time{}
	}
	p.expireLeases(q, now)
	next := q.next(now)
	p.unlockDQ(q)
	return next
}

// Pending implements Spool.
func (p *pebbleSpool) Pending(dest string) int64 {
	q := p.lockDQ(dest, false)
	if q == nil {
		return 0
	}
	n := q.pending
	p.unlockDQ(q)
	return int64(n)
}

// Destinations implements Spool.
func (p *pebbleSpool) Destinations(now time.Time) []DestDue {
	if p.f.broken.Load() {
		return nil
	}
	p.dmu.Lock()
	qs := make([]*dq, 0, len(p.dqs))
	for _, q := range p.dqs {
		qs = append(qs, q)
	}
	p.dmu.Unlock()
	var out []DestDue
	for _, q := range qs {
		q.mu.Lock()
		if !q.dropped {
			p.expireLeases(q, now)
			if due := q.next(now); !due.IsZero() {
				out = append(out, DestDue{Dest: q.key, Due: due})
			}
		}
		q.mu.Unlock()
	}
	return out
}
