package delivery

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Destinations implements Spool: it skips from one destination's queue
// prefix to the next, so it costs one seek per destination.
func (p *pebbleSpool) Destinations() ([]string, error) {
	lo := []byte{tagQueue}
	it, err := p.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(lo)})
	if err != nil {
		return nil, fmt.Errorf("delivery: reading spool: %w", err)
	}
	var out []string
	for ok := it.First(); ok; {
		k := it.Key()
		i := bytes.IndexByte(k, 0)
		if i < 0 {
			ok = it.Next()
			continue
		}
		out = append(out, string(k[1:i]))
		ok = it.SeekGE(append(append([]byte(nil), k[:i]...), 1))
	}
	return out, closeIter(it)
}

// Due implements Spool.
func (p *pebbleSpool) Due(dest string, now time.Time, max int, held func(string) bool) ([]*Record, time.Time, error) {
	var recs []*Record
	var next time.Time
	for _, first := range [...]bool{true, false} {
		got, n, err := p.due(queuePrefix(dest, first), now, max-len(recs), held)
		if err != nil {
			return nil, time.Time{}, err
		}
		recs = append(recs, got...)
		if !n.IsZero() && (next.IsZero() || n.Before(next)) {
			next = n
		}
	}
	return recs, next, nil
}

// due scans one queue prefix; see Due.
func (p *pebbleSpool) due(pfx []byte, now time.Time, max int, held func(string) bool) ([]*Record, time.Time, error) {
	it, err := p.db.NewIter(&pebble.IterOptions{LowerBound: pfx, UpperBound: prefixEnd(pfx)})
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("delivery: reading spool: %w", err)
	}
	var recs []*Record
	var next time.Time
	for ok := it.First(); ok; ok = it.Next() {
		due, id, valid := parseQueueKey(it.Key(), len(pfx))
		if !valid || held(id) {
			continue
		}
		if due.After(now) {
			next = due
			break
		}
		if len(recs) >= max {
			next = now
			break
		}
		r, err := p.Get(id)
		if err != nil {
			continue // a queue key without its record: skipped, never sent
		}
		r.Due = due
		recs = append(recs, r)
	}
	return recs, next, closeIter(it)
}

// List implements Spool.
func (p *pebbleSpool) List(env string, dead bool, limit int) ([]*Record, error) {
	tag := byte(tagPending)
	if dead {
		tag = tagDead
	}
	pfx := envKey(tag, env, "")
	it, err := p.db.NewIter(&pebble.IterOptions{LowerBound: pfx, UpperBound: prefixEnd(pfx)})
	if err != nil {
		return nil, fmt.Errorf("delivery: reading spool: %w", err)
	}
	var out []*Record
	for ok := it.First(); ok && len(out) < limit; ok = it.Next() {
		r, err := p.Get(string(it.Key()[len(pfx):]))
		if err == nil {
			out = append(out, r)
		}
	}
	return out, closeIter(it)
}

// ExpireDedupe implements Spool. Each removal holds that key's lock, so a
// record re-written by a concurrent Append is never removed.
func (p *pebbleSpool) ExpireDedupe(now time.Time, max int) (int, error) {
	lo := []byte{tagDedupeTime}
	hi := binary.BigEndian.AppendUint64([]byte{tagDedupeTime}, uint64(now.UnixNano()))
	it, err := p.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return 0, fmt.Errorf("delivery: reading spool: %w", err)
	}
	var expired [][]byte
	for ok := it.First(); ok && len(expired) < max; ok = it.Next() {
		if len(it.Key()) > 9 {
			expired = append(expired, append([]byte(nil), it.Key()...))
		}
	}
	if err := closeIter(it); err != nil {
		return 0, err
	}
	for i, k := range expired {
		if err := p.expire(k); err != nil {
			return i, err
		}
	}
	return len(expired), nil
}

// expire deletes expiry index key k and its dedupe record unless that was
// re-recorded with another expiry.
func (p *pebbleSpool) expire(k []byte) error {
	defer p.lockKey(string(k[9:]))()
	b := p.db.NewBatch()
	defer b.Close()
	dk := append([]byte{tagDedupe}, k[9:]...)
	if v, err := p.get(dk); err == nil && len(v) >= 8 && bytes.Equal(v[:8], k[1:9]) {
		b.Delete(dk, nil)
	}
	b.Delete(k, nil)
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("delivery: expiring dedupe records: %w", err)
	}
	return nil
}
