package spool

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// liveDedupe returns the first event id of dedupe key dk if its record has
// not expired at now. The in-memory filter answers most lookups, which
// miss.
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
		return "", false, fmt.Errorf("spool: reading: %w", err)
	}
	var v []byte
	if it.SeekPrefixGE(key) && bytes.Equal(it.Key(), key) {
		v = append(v, it.Value()...)
	}
	if err := closeIter(it); err != nil || len(v) < 8 {
		return "", false, err
	}
	if int64(binary.BigEndian.Uint64(v)) <= now.UnixNano() {
		return "", false, nil
	}
	return string(v[8:]), true, nil
}

// Dedupe implements Spool.
func (p *pebbleSpool) Dedupe(env, integ, key string, now time.Time) (id string, ok bool, err error) {
	err = p.use(func() error {
		id, ok, err = p.liveDedupe(dedupeSuffix(&Dedupe{Env: env, Integration: integ, Key: key}), now)
		return err
	})
	return id, ok, err
}

// putDedupe adds the dedupe record and its expiry index entry to b and
// returns their bytes. The index entry's value is the record's size, so
// that expiring it frees what its write added (a record rewritten before
// its old index entry expires is counted twice until then), and the
// recount at open agrees.
func putDedupe(b *pebble.Batch, dk []byte, d *Dedupe) int64 {
	exp := binary.BigEndian.AppendUint64(nil, uint64(d.Expires.UnixNano()))
	k, v := append([]byte{tagDedupe}, dk...), append(exp, d.EventID...)
	tk := append(append([]byte{tagDedupeTime}, exp...), dk...)
	b.Set(k, v, nil)
	size := binary.AppendUvarint(nil, uint64(len(k)+len(v)))
	b.Set(tk, size, nil)
	return dedupeSize(tk, size)
}

// dedupeSize is the bytes a dedupe record and its index entry (tk, with
// value v) count for.
func dedupeSize(tk, v []byte) int64 {
	n, _ := binary.Uvarint(v)
	return int64(len(tk)+len(v)) + int64(n)
}

// expireDedupe removes up to max dedupe records expired at now. Each
// removal holds that key's lock, so a record re-written by a concurrent
// Append is never removed.
func (p *pebbleSpool) expireDedupe(now time.Time, max int) (int, error) {
	p.filter.expire(now.UnixNano())
	hi := binary.BigEndian.AppendUint64([]byte{tagDedupeTime}, uint64(now.UnixNano()))
	it, err := p.db.NewIter(&pebble.IterOptions{LowerBound: []byte{tagDedupeTime}, UpperBound: hi})
	if err != nil {
		return 0, fmt.Errorf("spool: reading: %w", err)
	}
	var expired [][2][]byte
	for ok := it.First(); ok && len(expired) < max; ok = it.Next() {
		if len(it.Key()) > 9 {
			expired = append(expired, [2][]byte{bytes.Clone(it.Key()), bytes.Clone(it.Value())})
		}
	}
	if err := closeIter(it); err != nil {
		return 0, err
	}
	for i, kv := range expired {
		if err := p.expireOne(kv[0], kv[1]); err != nil {
			return i, err
		}
	}
	return len(expired), nil
}

// expireOne deletes expiry index entry k (value v) and its dedupe record
// unless that was re-recorded with another expiry.
func (p *pebbleSpool) expireOne(k, v []byte) error {
	defer p.keyLocks.lock(string(k[9:]))()
	b := p.db.NewBatch()
	defer b.Close()
	freed := dedupeSize(k, v)
	dk := append([]byte{tagDedupe}, k[9:]...)
	if v, err := p.get(dk); err == nil && len(v) >= 8 && bytes.Equal(v[:8], k[1:9]) {
		b.Delete(dk, nil)
	}
	b.Delete(k, nil)
	if err := p.commit(b, false, -freed); err != nil {
		return err
	}
	p.dedupeBytes.Add(-freed)
	return nil
}

// loadFilter adds the stored dedupe records to the filter, then marks it
// ready. Records appended meanwhile add themselves, so once the scan ends
// the filter covers every live record. Expired ones not yet removed are
// added too (whether a record is live is the caller's clock's business);
// they cost a false positive until their generation expires.
func (p *pebbleSpool) loadFilter() {
	defer close(p.loaded)
	it, err := p.db.NewIter(&pebble.IterOptions{LowerBound: []byte{tagDedupeTime}, UpperBound: []byte{tagDedupeTime + 1}})
	if err != nil {
		p.log.Error("spool: loading the dedupe filter", "err", err)
		return
	}
	for ok := it.First(); ok && !p.closing.Load(); ok = it.Next() {
		if k := it.Key(); len(k) > 9 {
			p.filter.add(k[9:], int64(binary.BigEndian.Uint64(k[1:9])))
		}
	}
	if err := closeIter(it); err != nil || p.closing.Load() {
		if err != nil {
			p.log.Error("spool: loading the dedupe filter", "err", err)
		}
		return
	}
	p.filter.ready.Store(true)
}

// keyLocks serialises the check-then-write of one key (a dedupe key, a
// redrive) within this process.
type keyLocks struct {
	mu sync.Mutex
	m  map[string]chan struct{}
}

// lock locks k and returns the unlock function.
func (l *keyLocks) lock(k string) func() {
	for {
		l.mu.Lock()
		ch, busy := l.m[k]
		if !busy {
			ch = make(chan struct{})
			l.m[k] = ch
			l.mu.Unlock()
			return func() {
				l.mu.Lock()
				delete(l.m, k)
				l.mu.Unlock()
				close(ch)
			}
		}
		l.mu.Unlock()
		<-ch
	}
}
