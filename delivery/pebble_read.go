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

// Due implements Spool. Each class is scanned from its cursor (see
// queueCursors), and records are decoded from the queue values.
func (p *pebbleSpool) Due(dest string, now time.Time, max int, held func(string) bool) ([]*Record, time.Time, error) {
	from := p.cursors.begin(dest)
	var stop [2][]byte
	var recs []*Record
	var next time.Time
	live := false
	for cl, first := range [...]bool{true, false} {
		sc := queueScan{pfx: queuePrefix(dest, first), from: from[cl], now: now, max: max - len(recs), held: held}
		if err := sc.run(p.db); err != nil {
			p.cursors.end(dest, from, true)
			return nil, time.Time{}, err
		}
		recs = append(recs, sc.recs...)
		stop[cl], live = sc.stop, live || sc.live
		if !sc.next.IsZero() && (next.IsZero() || sc.next.Before(next)) {
			next = sc.next
		}
	}
	p.cursors.end(dest, stop, live)
	return recs, next, nil
}

// maxLoadedBody is the largest body Due returns with its record; a larger
// one stays on disk until it is sent (Body).
const maxLoadedBody = 64 << 10

// Release implements Spool.
func (p *pebbleSpool) Release(dest string) { p.cursors.reset(dest) }

// queueScan is the scan of one queue class from position from (a queue
// key suffix; nil is the head).
type queueScan struct {
	pfx  []byte
	from []byte
	now  time.Time
	max  int
	held func(string) bool

	recs []*Record
	next time.Time // earliest due time left, now when max was reached
	stop []byte    // the first position not taken: the next cursor
	live bool      // some key was found
}

func (sc *queueScan) run(db *pebble.DB) error {
	lo := append(append([]byte(nil), sc.pfx...), sc.from...)
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(sc.pfx)})
	if err != nil {
		return fmt.Errorf("delivery: reading spool: %w", err)
	}
	sc.stop = sc.from
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		due, id, valid := parseQueueKey(k, len(sc.pfx))
		if !valid {
			continue
		}
		sc.live = true
		here := append([]byte(nil), k[len(sc.pfx):]...)
		if due.After(sc.now) {
			sc.next, sc.stop = due, here
			break
		}
		if !sc.held(id) && len(sc.recs) >= sc.max {
			sc.next, sc.stop = sc.now, here
			break
		}
		sc.stop = append(here, 0) // just after this key
		if sc.held(id) {
			continue
		}
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return fmt.Errorf("delivery: reading spool: %w", err)
		}
		r, body, err := decodeRecord(v)
		if err != nil {
			continue // a corrupt queue entry is skipped, never sent
		}
		r.Due = due
		if len(body) <= maxLoadedBody {
			r.Body = append([]byte(nil), body...)
		}
		sc.recs = append(sc.recs, r)
	}
	return closeIter(it)
}

// List implements Spool. Dead letters are listed from their environment's
// prefix; pending deliveries are not indexed by environment, so listing
// them scans the queues of every destination (an admin call, not a hot
// path).
func (p *pebbleSpool) List(env string, dead bool, limit int) ([]*Record, error) {
	pfx := []byte{tagQueue}
	if dead {
		pfx = deadKey(env, "")
	}
	it, err := p.db.NewIter(&pebble.IterOptions{LowerBound: pfx, UpperBound: prefixEnd(pfx)})
	if err != nil {
		return nil, fmt.Errorf("delivery: reading spool: %w", err)
	}
	var out []*Record
	for ok := it.First(); ok && len(out) < limit; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return nil, fmt.Errorf("delivery: reading spool: %w", err)
		}
		r, _, err := decodeRecord(v)
		if err != nil || r.Env != env {
			continue
		}
		out = append(out, r)
	}
	return out, closeIter(it)
}

// ExpireDedupe implements Spool. Each removal holds that key's lock, so a
// record re-written by a concurrent Append is never removed.
func (p *pebbleSpool) ExpireDedupe(now time.Time, max int) (int, error) {
	p.filter.expire(now.UnixNano())
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
