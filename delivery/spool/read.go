package spool

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Body implements Spool: a leased delivery's body comes from memory when
// it was kept there, else from the disk.
func (p *pebbleSpool) Body(d *Delivery) (b *Body, err error) {
	if q := p.lockDQ(d.Dest, false); q != nil {
		if l := q.leased[d.ID]; l != nil && l.token == d.lease && l.e.body != nil {
			b = l.e.body
		}
		p.unlockDQ(q)
		if b != nil {
			return b, nil
		}
	}
	path := p.blobs.path(blobName(d.EventID, d.Part))
	if d.inline != nil {
		return decodeBody(d.inline, p.o.FS, path)
	}
	err = p.use(func() error {
		v, err := p.get(bodyKey(tagBody, d.EventID, d.Part))
		if err != nil {
			return fmt.Errorf("spool: body of %s: %w", d.ID, err)
		}
		b, err = decodeBody(v, p.o.FS, path)
		return err
	})
	return b, err
}

// Get implements Spool.
func (p *pebbleSpool) Get(env, id string) (d *Delivery, err error) {
	err = p.use(func() error {
		for range 3 { // the record may move between the two reads
			k, err := p.get(refKey(id))
			if err != nil {
				return err
			}
			v, err := p.get(k)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if d, err = decodeDelivery(v); err != nil {
				return err
			}
			if d.Env != env {
				d = nil
				return ErrNotFound
			}
			return nil
		}
		return ErrNotFound
	})
	return d, err
}

// List implements Spool. Dead letters are listed from their environment's
// prefix. Pending deliveries are not indexed by environment (the hot path
// writes one record and one reference per delivery), so listing them walks
// the references in id order; an admin call, not the hot path.
func (p *pebbleSpool) List(env string, status Status, after string, limit int) (out []*Delivery, err error) {
	err = p.use(func() error {
		if status == StatusPending {
			return p.listPending(env, after, limit, &out)
		}
		pfx := deadKey(env, "")
		lo := append(bytes.Clone(pfx), after...)
		if after != "" {
			lo = append(lo, 0)
		}
		it, err := p.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(pfx)})
		if err != nil {
			return fmt.Errorf("spool: reading: %w", err)
		}
		for ok := it.First(); ok && len(out) < limit; ok = it.Next() {
			if d, err := decodeDelivery(it.Value()); err == nil {
				out = append(out, d)
			}
		}
		return closeIter(it)
	})
	return out, err
}

func (p *pebbleSpool) listPending(env, after string, limit int, out *[]*Delivery) error {
	lo := refKey(after)
	if after != "" {
		lo = append(lo, 0)
	}
	it, err := p.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: []byte{tagRef + 1}})
	if err != nil {
		return fmt.Errorf("spool: reading: %w", err)
	}
	for ok := it.First(); ok && len(*out) < limit; ok = it.Next() {
		k := it.Value()
		if len(k) == 0 || k[0] != tagQueue {
			continue
		}
		v, err := p.get(k)
		if err != nil {
			continue // moved meanwhile
		}
		if d, err := decodeDelivery(v); err == nil && d.Env == env {
			*out = append(*out, d)
		}
	}
	return closeIter(it)
}

func closeIter(it *pebble.Iterator) error {
	if err := it.Close(); err != nil {
		return fmt.Errorf("spool: reading: %w", err)
	}
	return nil
}

// Expire implements Spool: expired dedupe records first, then dead
// letters older than deadBefore.
func (p *pebbleSpool) Expire(now, deadBefore time.Time, max int) (n int, err error) {
	err = p.use(func() error {
		var err error
		if n, err = p.expireDedupe(now, max); err != nil || deadBefore.IsZero() {
			return err
		}
		hi := binary.BigEndian.AppendUint64([]byte{tagDeadAge}, uint64(unixNano(deadBefore)))
		it, err := p.db.NewIter(&pebble.IterOptions{LowerBound: []byte{tagDeadAge}, UpperBound: hi})
		if err != nil {
			return fmt.Errorf("spool: reading: %w", err)
		}
		var old [][]byte
		for ok := it.First(); ok && len(old) < max; ok = it.Next() {
			old = append(old, bytes.Clone(it.Key()))
		}
		if err := closeIter(it); err != nil {
			return err
		}
		for _, ak := range old {
			rest := ak[9:]
			i := bytes.IndexByte(rest, 0)
			if i < 0 {
				continue
			}
			if err := p.purgeDead(string(rest[:i]), string(rest[i+1:]), ak); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}
