package delivery

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Append implements Spool. The batch is committed with pebble.Sync;
// Pebble's commit pipeline makes concurrent synced batches share one WAL
// fsync (group commit).
func (p *pebbleSpool) Append(d *Dedupe, recs []*Record) (string, bool, error) {
	var dk []byte
	if d != nil {
		dk = dedupeSuffix(d)
		defer p.lockKey(string(dk))()
		if id, ok, err := p.liveDedupe(dk, d.Now); err != nil || ok {
			return id, ok, err
		}
	}
	b := p.db.NewBatch()
	defer b.Close()
	for _, r := range recs {
		b.Set(stateKey(r), appendRecord(nil, r), nil)
	}
	if d != nil {
		putDedupe(b, dk, d)
	}
	if b.Empty() {
		return "", false, nil
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return "", false, fmt.Errorf("delivery: spooling: %w", err)
	}
	if d != nil { // still under the key's lock
		p.filter.add(dk, d.Expires.UnixNano())
	}
	for _, r := range recs {
		p.noteQueued(r)
	}
	p.pending.Add(int64(len(recs)))
	return "", false, nil
}

// noteQueued tells the scan cursors about a committed queue key.
func (p *pebbleSpool) noteQueued(r *Record) {
	if r.Status == StatusPending {
		p.cursors.note(r.Dest, r.first(), queueSuffix(r))
	}
}

// Update implements Spool. State changes after an attempt are not synced:
// they reach the OS with the write, which survives a process crash; after
// a machine crash the previous state (an earlier attempt count) comes back,
// which at-least-once delivery tolerates.
func (p *pebbleSpool) Update(prev, next *Record) error {
	body := next.Body
	if body == nil {
		var err error
		if body, err = p.Body(prev); err != nil {
			return fmt.Errorf("delivery: updating %s: %w", next.ID, err)
		}
	}
	n := *next
	n.Body = body
	b := p.db.NewBatch()
	defer b.Close()
	b.SingleDelete(stateKey(prev), nil)
	b.Set(stateKey(&n), appendRecord(nil, &n), nil)
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("delivery: updating %s: %w", next.ID, err)
	}
	p.noteQueued(next)
	if was, is := prev.Status == StatusPending, next.Status == StatusPending; was != is {
		if is {
			p.pending.Add(1)
		} else {
			p.pending.Add(-1)
		}
	}
	return nil
}

// Complete implements Spool.
func (p *pebbleSpool) Complete(r *Record) error {
	if err := p.db.SingleDelete(queueKey(r), pebble.NoSync); err != nil {
		return fmt.Errorf("delivery: completing %s: %w", r.ID, err)
	}
	p.pending.Add(-1)
	return nil
}

// lockKey serialises the check-then-write of one dedupe key within this
// process; it returns the unlock function.
func (p *pebbleSpool) lockKey(k string) func() {
	for {
		p.mu.Lock()
		ch, busy := p.locks[k]
		if !busy {
			ch = make(chan struct{})
			p.locks[k] = ch
			p.mu.Unlock()
			return func() {
				p.mu.Lock()
				delete(p.locks, k)
				p.mu.Unlock()
				close(ch)
			}
		}
		p.mu.Unlock()
		<-ch
	}
}

// liveDedupe returns the first event id of dedupe key dk if its record has
// not expired at now. The filter answers most lookups, which miss.
//
// It seeks with the bloom filters of every level: a point Get skips them
// on the bottom level, where a small store keeps most of its data, and
// most dedupe lookups miss.
func (p *pebbleSpool) liveDedupe(dk []byte, now time.Time) (string, bool, error) {
	if !p.filter.mayContain(dk) {
		return "", false, nil
	}
	key := append([]byte{tagDedupe}, dk...)
	it, err := p.db.NewIter(&pebble.IterOptions{UseL6Filters: true})
	if err != nil {
		return "", false, fmt.Errorf("delivery: reading spool: %w", err)
	}
	var v []byte
	if it.SeekPrefixGE(key) && bytes.Equal(it.Key(), key) {
		v = append(v, it.Value()...)
	}
	if err := closeIter(it); err != nil || v == nil || len(v) < 8 {
		return "", false, err
	}
	if int64(binary.BigEndian.Uint64(v)) <= now.UnixNano() {
		return "", false, nil
	}
	return string(v[8:]), true, nil
}

func putDedupe(b *pebble.Batch, dk []byte, d *Dedupe) {
	exp := binary.BigEndian.AppendUint64(nil, uint64(d.Expires.UnixNano()))
	b.Set(append([]byte{tagDedupe}, dk...), append(exp, d.EventID...), nil)
	b.Set(append(append([]byte{tagDedupeTime}, exp...), dk...), nil, nil)
}
