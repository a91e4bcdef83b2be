package spool

import (
	"encoding/binary"
	"errors"
	"hash/maphash"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Results of attempts are written without a sync: they reach the OS with
// the write and survive a process crash; after a machine crash an earlier
// state (the delivery pending, an attempt fewer) can come back, so a
// delivery may be sent again, which at-least-once delivery allows.

// Ack implements Spool.
func (p *pebbleSpool) Ack(d *Delivery, a Attempt, then *Batch) error {
	return p.use(func() error {
		q, l, err := p.begin(d)
		if err != nil {
			return err
		}
		old := l.e.d
		w := p.db.NewBatch()
		defer w.Close()
		delta := p.removeQueued(w, old)
		unlock, freed, gone := p.releaseBody(w, old)
		defer unlock()
		var entries []*entry
		var blobs []string
		var bodies int64
		if then != nil {
			var more int64
			if entries, blobs, more, bodies, err = p.prepare(w, then); err != nil {
				p.end(q, l, false, 0, nil)
				return err
			}
			delta += more
		}
		qs := p.markWriting(entries)
		if err := p.commit(w, then != nil, delta+freed); err != nil {
			p.unmarkWriting(qs, entries)
			for _, path := range blobs {
				p.blobs.remove(path)
			}
			p.end(q, l, false, 0, nil)
			return err
		}
		p.bodyGone(old, gone)
		p.bodyByte.Add(bodies)
		p.pending.Add(int64(len(entries)) - 1)
		p.end(q, l, true, -1, nil)
		p.publish(qs, entries)
		return nil
	})
}

// Reschedule implements Spool.
func (p *pebbleSpool) Reschedule(d *Delivery, a Attempt, due time.Time) error {
	return p.use(func() error {
		q, l, err := p.begin(d)
		if err != nil {
			return err
		}
		next := *l.e.d
		next.record(a)
		return p.requeue(q, l, &next, due)
	})
}

// Release implements Spool.
func (p *pebbleSpool) Release(d *Delivery, due time.Time) error {
	return p.use(func() error {
		q, l, err := p.begin(d)
		if err != nil {
			return err
		}
		if !due.After(l.e.d.Due) { // still due: it goes back as it is stored
			p.end(q, l, true, 0, &entry{suffix: l.e.suffix, d: l.e.d, body: l.e.body})
			return nil
		}
		next := *l.e.d
		return p.requeue(q, l, &next, due)
	})
}

// requeue rewrites leased delivery next (a copy of the stored one) due at
// due: a new queue key, the old one removed.
func (p *pebbleSpool) requeue(q *dq, l *leaseOf, next *Delivery, due time.Time) error {
	old := l.e.d
	next.Due = due
	if !next.Due.After(old.Due) {
		next.Due = old.Due.Add(1) // a new key: queue keys are written once
	}
	next.moves++
	next.lease = 0
	w := p.db.NewBatch()
	defer w.Close()
	delta := p.removeQueued(w, old)
	k, v := queueKey(next), appendDelivery(nil, next)
	next.rsize = len(v)
	w.Set(k, v, nil)
	rk := refKey(next.ID)
	w.Set(rk, k, nil)
	delta += int64(len(k) + len(v) + len(rk) + len(k))
	if err := p.commit(w, false, delta); err != nil {
		p.end(q, l, false, 0, nil)
		return err
	}
	p.end(q, l, true, 0, &entry{suffix: k[len(k)-8-len(next.ID):], d: next})
	return nil
}

// Dead implements Spool.
func (p *pebbleSpool) Dead(d *Delivery, a Attempt, status Status, reason string) error {
	if status != StatusDead && status != StatusGone {
		return errors.New("spool: a dead letter is dead or gone")
	}
	return p.use(func() error {
		q, l, err := p.begin(d)
		if err != nil {
			return err
		}
		old := l.e.d
		next := *old
		next.Due = time.Now() // a dead letter's Due is when it died
		if !a.At.IsZero() {
			next.record(a)
			next.Due = a.At.Add(a.Duration)
		}
		next.Status, next.Reason, next.moves, next.lease = status, reason, old.moves+1, 0
		w := p.db.NewBatch()
		defer w.Close()
		delta := p.removeQueued(w, old)
		delta += p.putDead(w, &next)
		if err := p.commit(w, false, delta); err != nil {
			p.end(q, l, false, 0, nil)
			return err
		}
		p.pending.Add(-1)
		p.dead.Add(1)
		p.end(q, l, true, -1, nil)
		return nil
	})
}

// putDead adds dead letter d to w and returns the bytes added.
func (p *pebbleSpool) putDead(w *pebble.Batch, d *Delivery) int64 {
	k, v := deadKey(d.Env, d.ID), appendDelivery(nil, d)
	ak := deadAgeKey(d.Due, d.Env, d.ID)
	rk := refKey(d.ID)
	w.Set(k, v, nil)
	w.Set(ak, nil, nil)
	w.Set(rk, k, nil)
	return int64(len(k) + len(v) + len(ak) + len(rk) + len(k))
}

// removeQueued adds to w the removal of pending delivery d's queue key
// (and of its ref key when d leaves the queue for good: the caller writes
// a new one otherwise, which replaces it) and returns the bytes it frees.
func (p *pebbleSpool) removeQueued(w *pebble.Batch, d *Delivery) int64 {
	k := queueKey(d)
	w.SingleDelete(k, nil)
	rk := refKey(d.ID)
	if d.moves == 0 {
		w.SingleDelete(rk, nil) // set once, at append
	} else {
		w.Delete(rk, nil)
	}
	return -int64(len(k) + d.rsize + len(rk) + len(k))
}

// releaseBody adds to w what ends d's claim on its body: the body's
// removal when d was its last delivery, else a lower count of those left.
// It returns the function that unlocks the body's count, to call once w
// is committed, and, when the body goes, the stored bytes freed beyond
// d's record (negative) and the body's own bytes (see bodyGone).
func (p *pebbleSpool) releaseBody(w *pebble.Batch, d *Delivery) (unlock func(), freed, body int64) {
	if d.inline != nil { // in the record, which goes: its blob file goes too
		if d.blob {
			freed = -(d.bsize - int64(len(d.inline)))
		}
		return func() {}, freed, -d.bsize
	}
	bk := bodyKey(tagBody, d.EventID, d.Part)
	if d.refs <= 1 {
		w.SingleDelete(bk, nil)
		return func() {}, -d.bsize, -d.bsize
	}
	mu := &p.bodyLocks[maphash.Bytes(bodySeed, bk)%uint64(len(p.bodyLocks))]
	mu.Lock()
	nk := bodyKey(tagBodyRefs, d.EventID, d.Part)
	left := uint64(d.refs)
	if v, err := p.get(nk); err == nil {
		if n, w := binary.Uvarint(v); w > 0 {
			left = n
		}
	}
	if left <= 1 {
		w.SingleDelete(bk, nil)
		w.Delete(nk, nil)
		return mu.Unlock, -d.bsize, -d.bsize
	}
	w.Set(nk, binary.AppendUvarint(nil, left-1), nil)
	return mu.Unlock, 0, 0
}

var bodySeed = maphash.MakeSeed()

// bodyGone accounts a body removed by a committed write (body < 0) and
// removes its blob file if it has one.
func (p *pebbleSpool) bodyGone(d *Delivery, body int64) {
	if body == 0 {
		return
	}
	p.bodyByte.Add(body)
	if d.blob {
		p.blobs.remove(p.blobs.path(blobName(d.EventID, d.Part)))
	}
}

// Redrive implements Spool.
func (p *pebbleSpool) Redrive(env, id string, now, expires time.Time) (out *Delivery, err error) {
	err = p.use(func() error {
		defer p.keyLocks.lock("redrive\x00" + id)()
		v, err := p.get(deadKey(env, id))
		if err != nil {
			return err
		}
		d, err := decodeDelivery(v)
		if err != nil {
			return err
		}
		next := *d
		next.Status, next.Reason, next.Base, next.Due, next.Expires = StatusPending, "", d.Attempts, now, expires
		next.moves++
		e := &entry{d: &next}
		qs := p.markWriting([]*entry{e})
		w := p.db.NewBatch()
		defer w.Close()
		k, val := queueKey(&next), appendDelivery(nil, &next)
		next.rsize = len(val)
		e.suffix = k[len(k)-8-len(id):]
		dk, ak, rk := deadKey(env, id), deadAgeKey(d.Due, env, id), refKey(id)
		w.SingleDelete(dk, nil)
		w.SingleDelete(ak, nil)
		w.Set(k, val, nil)
		w.Set(rk, k, nil)
		delta := int64(len(k)+len(val)+len(k)) - int64(len(dk)+len(v)+len(ak)+len(dk))
		if err := p.commit(w, false, delta); err != nil {
			p.unmarkWriting(qs, []*entry{e})
			return err
		}
		p.dead.Add(-1)
		p.pending.Add(1)
		p.publish(qs, []*entry{e})
		c := next
		out = &c
		return nil
	})
	return out, err
}

// purgeDead removes dead letter k (its age key ak) for good, with its
// body claim.
func (p *pebbleSpool) purgeDead(env, id string, ak []byte) error {
	defer p.keyLocks.lock("redrive\x00" + id)()
	dk := deadKey(env, id)
	v, err := p.get(dk)
	w := p.db.NewBatch()
	defer w.Close()
	w.SingleDelete(ak, nil)
	if errors.Is(err, ErrNotFound) { // redriven meanwhile
		return p.commit(w, false, -int64(len(ak)))
	}
	if err != nil {
		return err
	}
	d, err := decodeDelivery(v)
	if err != nil {
		return err
	}
	w.SingleDelete(dk, nil)
	w.Delete(refKey(id), nil)
	unlock, freed, gone := p.releaseBody(w, d)
	defer unlock()
	if err := p.commit(w, false, freed-int64(len(dk)+len(v)+len(ak)+1+len(id)+len(dk))); err != nil {
		return err
	}
	p.bodyGone(d, gone)
	p.dead.Add(-1)
	return nil
}
