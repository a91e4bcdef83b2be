package delivery

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/sstable"
)

// pebbleSpool is the Spool on an embedded Pebble store; keys.go has its
// keyspace.
type pebbleSpool struct {
	db      *pebble.DB
	log     *slog.Logger
	pending atomic.Int64
	cursors queueCursors
	filter  *dedupeFilter
	closing atomic.Bool
	loaded  chan struct{} // closed when the filter load has ended

	mu    sync.Mutex
	locks map[string]chan struct{} // dedupe keys being checked and written
}

// OpenPebble opens (creating if needed) the Pebble spool in dir.
func OpenPebble(dir string, log *slog.Logger) (Spool, error) {
	if log == nil {
		log = slog.Default()
	}
	db, err := pebble.Open(dir, pebbleOptions(log))
	if err != nil {
		return nil, fmt.Errorf("delivery: opening spool %s: %w", dir, err)
	}
	p := &pebbleSpool{db: db, log: log, locks: map[string]chan struct{}{}, cursors: queueCursors{m: map[string]*cursor{}},
		filter: newDedupeFilter(), loaded: make(chan struct{})}
	n, err := p.count([]byte{tagQueue})
	if err != nil {
		db.Close()
		return nil, err
	}
	p.pending.Store(n)
	go p.loadFilter(time.Now())
	return p, nil
}

// loadFilter adds the dedupe records live at now to the filter, then
// marks it ready. Records appended meanwhile add themselves, so once the
// scan ends the filter covers every live record.
func (p *pebbleSpool) loadFilter(now time.Time) {
	defer close(p.loaded)
	lo := binary.BigEndian.AppendUint64([]byte{tagDedupeTime}, uint64(now.UnixNano()))
	it, err := p.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: []byte{tagDedupeTime + 1}})
	if err != nil {
		p.log.Error("delivery: loading the dedupe filter", "err", err)
		return
	}
	for ok := it.First(); ok && !p.closing.Load(); ok = it.Next() {
		if k := it.Key(); len(k) > 9 {
			p.filter.add(k[9:], int64(binary.BigEndian.Uint64(k[1:9])))
		}
	}
	if err := closeIter(it); err != nil || p.closing.Load() {
		p.log.Error("delivery: loading the dedupe filter", "err", err)
		return
	}
	p.filter.ready.Store(true)
}

// memTableSize is large enough that most deliveries are written and
// finished within one memtable, so their keys vanish when it is flushed.
const memTableSize = 16 << 20

// pebbleOptions are the store's options: a large memtable (above); bloom
// filters on every level, so that the dedupe lookup of the accept path,
// which mostly misses, costs a filter probe per file rather than a block
// read; and no block compression: the spool's data is short-lived, and CPU
// is what the gateway runs out of first, not disk.
func pebbleOptions(log *slog.Logger) *pebble.Options {
	o := &pebble.Options{Logger: pebbleLogger{log}, MemTableSize: memTableSize}
	for i := range o.Levels {
		o.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
		o.Levels[i].Compression = func() *sstable.CompressionProfile { return sstable.NoCompression }
	}
	return o
}

// count returns the number of keys with prefix pfx.
func (p *pebbleSpool) count(pfx []byte) (int64, error) {
	it, err := p.db.NewIter(&pebble.IterOptions{LowerBound: pfx, UpperBound: prefixEnd(pfx)})
	if err != nil {
		return 0, fmt.Errorf("delivery: counting spool: %w", err)
	}
	var n int64
	for ok := it.First(); ok; ok = it.Next() {
		n++
	}
	return n, closeIter(it)
}

func closeIter(it *pebble.Iterator) error {
	if err := it.Close(); err != nil {
		return fmt.Errorf("delivery: reading spool: %w", err)
	}
	return nil
}

// Pending implements Spool.
func (p *pebbleSpool) Pending() int64 { return p.pending.Load() }

// Close implements Spool; closing again does nothing.
func (p *pebbleSpool) Close() error {
	if !p.closing.CompareAndSwap(false, true) {
		return nil
	}
	<-p.loaded
	if err := p.db.Close(); err != nil {
		return fmt.Errorf("delivery: closing spool: %w", err)
	}
	return nil
}

// get returns a copy of the value of key, or ErrNotFound.
func (p *pebbleSpool) get(key []byte) ([]byte, error) {
	v, c, err := p.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("delivery: reading spool: %w", err)
	}
	out := append([]byte(nil), v...)
	c.Close()
	return out, nil
}

// stored returns the record and body stored at key, or ErrNotFound.
func (p *pebbleSpool) stored(key []byte) (*Record, []byte, error) {
	v, err := p.get(key)
	if err != nil {
		return nil, nil, err
	}
	r, body, err := decodeRecord(v)
	if err != nil {
		return nil, nil, fmt.Errorf("delivery: %q: %w", key, err)
	}
	return r, body, nil
}

// Dead implements Spool.
func (p *pebbleSpool) Dead(env, id string) (*Record, error) {
	r, body, err := p.stored(deadKey(env, id))
	if err != nil {
		return nil, err
	}
	r.Body = body
	return r, nil
}

// Body implements Spool.
func (p *pebbleSpool) Body(r *Record) ([]byte, error) {
	_, body, err := p.stored(stateKey(r))
	return body, err
}

// pebbleLogger sends Pebble's errors to slog and drops its chatter.
type pebbleLogger struct{ log *slog.Logger }

func (l pebbleLogger) Infof(string, ...any) {}

func (l pebbleLogger) Errorf(format string, args ...any) {
	l.log.Error("delivery: pebble", "msg", fmt.Sprintf(format, args...))
}

func (l pebbleLogger) Fatalf(format string, args ...any) {
	l.log.Error("delivery: pebble fatal", "msg", fmt.Sprintf(format, args...))
	panic(fmt.Sprintf(format, args...))
}

var _ Spool = (*pebbleSpool)(nil)
