package spool

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Options configures the Pebble spool. Zero values take the defaults noted.
type Options struct {
	Dir    string // the spool directory (required)
	FS     vfs.FS // the file system; vfs.Default
	Logger *slog.Logger
	// MaxBytes is the byte budget of everything stored (deliveries,
	// bodies, dedupe records); Append answers ErrOverloaded beyond it.
	// 0 means 80 % of the disk space free at open.
	MaxBytes int64
	// MinFree is the disk space Append leaves free; 1 GiB.
	MinFree int64
	// MaxPending bounds the pending deliveries; 4,000,000.
	MaxPending int64
	// MaxCached bounds the deliveries kept in memory ready to lease;
	// 16384. PerDestCached bounds those of one destination; 4096.
	MaxCached     int
	PerDestCached int
	// MaxCachedBodies bounds the bytes of bodies kept in memory with
	// them; 32 MiB. A body larger than MaxCachedBody (64 KiB) is read
	// when it is sent.
	MaxCachedBodies int64
	MaxCachedBody   int
	// InlineBody is the largest body stored in the database; a larger one
	// is written to a blob file of its own. 512 KiB.
	InlineBody int
	// ScanBatch bounds the deliveries one disk scan loads; 256.
	ScanBatch int
	// Hook, in tests, runs between a write and its publication in memory,
	// with the delivery being written (see window).
	Hook func(op string, d *Delivery)
}

func (o Options) withDefaults() (Options, error) {
	if o.Dir == "" {
		return o, errors.New("spool: options: Dir is required")
	}
	if o.FS == nil {
		o.FS = vfs.Default
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	def := func(p *int, v int) {
		if *p <= 0 {
			*p = v
		}
	}
	def64 := func(p *int64, v int64) {
		if *p <= 0 {
			*p = v
		}
	}
	def64(&o.MinFree, 1<<30)
	def64(&o.MaxPending, 4_000_000)
	def(&o.MaxCached, 16384)
	def(&o.PerDestCached, 4096)
	def64(&o.MaxCachedBodies, 32<<20)
	def(&o.MaxCachedBody, 64<<10)
	def(&o.InlineBody, 512<<10)
	def(&o.ScanBatch, 256)
	return o, nil
}

// pebbleSpool is the Spool on an embedded Pebble store (keys.go has its
// keyspace, window.go its memory).
type pebbleSpool struct {
	o      Options
	db     *pebble.DB
	log    *slog.Logger
	blobs  blobStore
	filter *dedupeFilter
	loaded chan struct{} // closed when the dedupe filter load has ended
	disk   diskSpace

	dmu sync.Mutex
	dqs map[string]*dq
	// resting are the destinations told to rest, whether or not their
	// queue state exists now (it goes when their queue empties).
	resting map[string]bool

	keyLocks  keyLocks // dedupe keys being checked and written
	bodyLocks [64]sync.Mutex

	pending, dead, leased        atomic.Int64
	bytes, dedupeBytes, bodyByte atomic.Int64
	cached, cachedBytes, scans   atomic.Int64
	leaseSeq                     atomic.Uint64

	f          *faults
	ops        atomic.Int64 // calls inside use
	committing atomic.Int64 // of which inside a commit
	closing    atomic.Bool
	closed     atomic.Bool
}

// openStore opens the Pebble store in o.Dir (o has its defaults). onBreak
// is called once if a write of the store fails; leases are numbered from
// leaseFrom.
func openStore(o Options, onBreak func(*faults), leaseFrom uint64) (*pebbleSpool, error) {
	if err := makeDirs(o.FS, o.Dir, "db", "blobs"); err != nil {
		return nil, fmt.Errorf("spool: %s: %w", o.Dir, err)
	}
	f := &faults{log: o.Logger}
	f.onBreak = func() { onBreak(f) }
	db, err := pebble.Open(o.FS.PathJoin(o.Dir, "db"), pebbleOptions(o, f))
	if err == nil && f.broken.Load() {
		db.Close()
		err = f.err()
	}
	if err != nil {
		return nil, fmt.Errorf("spool: opening %s: %w", o.Dir, err)
	}
	p := &pebbleSpool{o: o, db: db, log: o.Logger, filter: newDedupeFilter(), loaded: make(chan struct{}),
		dqs: map[string]*dq{}, resting: map[string]bool{}, f: f}
	p.leaseSeq.Store(leaseFrom)
	p.keyLocks.m = map[string]chan struct{}{}
	p.disk = diskSpace{fs: o.FS, dir: o.Dir}
	if p.blobs, err = openBlobs(o.FS, o.FS.PathJoin(o.Dir, "blobs")); err != nil {
		db.Close()
		return nil, err
	}
	if err := p.load(); err != nil {
		db.Close()
		return nil, err
	}
	if f.broken.Load() { // a write of the open failed
		db.Close()
		return nil, f.err()
	}
	if p.o.MaxBytes <= 0 {
		free, err := p.disk.free()
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("spool: reading free disk space: %w", err)
		}
		p.o.MaxBytes = max(free*8/10, p.bytes.Load()+1)
	}
	go p.loadFilter()
	return p, nil
}

// makeDirs creates dir and its subdirectories subs, and syncs dir and its
// parent, so that a crash right after a first start does not lose the
// directories (and what is written into them afterwards).
func makeDirs(fs vfs.FS, dir string, subs ...string) error {
	for _, sub := range subs {
		if err := fs.MkdirAll(fs.PathJoin(dir, sub), 0o700); err != nil {
			return err
		}
	}
	for _, d := range []string{dir, fs.PathDir(dir)} {
		f, err := fs.OpenDir(d)
		if err != nil {
			return err
		}
		err = f.Sync()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// memTableSize is large enough that most deliveries are written and
// finished within one memtable, so their keys vanish when it is flushed.
const memTableSize = 16 << 20

// pebbleOptions are the store's options: a large memtable (above); bloom
// filters on every level, so that the dedupe lookup of the accept path,
// which mostly misses, costs a filter probe per file rather than a block
// read; and no block compression: the spool's data is short-lived, and CPU
// is what the gateway runs out of first, not disk.
func pebbleOptions(o Options, f *faults) *pebble.Options {
	po := &pebble.Options{FS: o.FS, Logger: pebbleLogger{o.Logger, f}, EventListener: f.listener(), MemTableSize: memTableSize}
	for i := range po.Levels {
		po.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
		po.Levels[i].Compression = func() *sstable.CompressionProfile { return sstable.NoCompression }
	}
	return po
}

// load reads the keyspace once at open: it counts what is stored and
// builds each destination's state (its windows start empty, bounded at
// -∞, so the first lease scans the disk).
func (p *pebbleSpool) load() error {
	kept := map[string]bool{} // blob files records hold
	it, err := p.db.NewIter(nil)
	if err != nil {
		return fmt.Errorf("spool: reading: %w", err)
	}
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		n := int64(len(k) + len(it.Value()))
		switch k[0] {
		case tagQueue:
			p.pending.Add(1)
			if dest, _, ok := splitQueueKey(k); ok {
				p.dqLocked(dest).pending++
			}
			n += p.loadInline(it.Value(), kept)
		case tagDead:
			p.dead.Add(1)
			n += p.loadInline(it.Value(), kept)
		case tagBody:
			if v := it.Value(); len(v) > 1 && v[1] == bodyBlob {
				if b, err := decodeBody(v, nil, ""); err == nil {
					n += b.size // its blob file
				}
			}
			p.bodyByte.Add(n)
		case tagDedupeTime:
			n = dedupeSize(k, it.Value())
			p.dedupeBytes.Add(n)
		case tagDedupe, tagBodyRefs:
			continue // dedupe records count with their index entries; body counts are not accounted
		}
		p.bytes.Add(n)
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("spool: reading: %w", err)
	}
	return p.blobs.removeOrphans(p.db, kept)
}

// loadInline accounts, at open, the body a record holds, notes its blob
// file in kept, and returns the bytes of that file (outside the record).
func (p *pebbleSpool) loadInline(v []byte, kept map[string]bool) int64 {
	if len(v) < 4 || v[3]&flagInline == 0 {
		return 0
	}
	d, err := decodeDelivery(v)
	if err != nil {
		return 0
	}
	p.bodyByte.Add(d.bsize)
	if d.blob {
		kept[blobName(d.EventID, d.Part)] = true
	}
	return d.bsize - int64(len(d.inline))
}

// splitQueueKey returns the destination and class of a queue key.
func splitQueueKey(k []byte) (string, int, bool) {
	for i := 1; i < len(k); i++ {
		if k[i] == 0 {
			if i+1 >= len(k) {
				return "", 0, false
			}
			return string(k[1:i]), int(k[i+1] - '0'), true
		}
	}
	return "", 0, false
}

// Stats implements Spool.
func (p *pebbleSpool) Stats() Stats {
	return Stats{
		Pending: p.pending.Load(), Dead: p.dead.Load(), Leased: p.leased.Load(),
		Bytes: p.bytes.Load(), DedupeBytes: p.dedupeBytes.Load(), BodyBytes: p.bodyByte.Load(),
		MaxBytes: p.o.MaxBytes, Cached: p.cached.Load(), CachedBytes: p.cachedBytes.Load(), Scans: p.scans.Load(),
	}
}

// use runs f unless the store is broken or closed. Close waits for the
// calls inside use to return.
func (p *pebbleSpool) use(f func() error) error {
	p.ops.Add(1)
	defer p.ops.Add(-1)
	switch {
	case p.f.broken.Load():
		return p.f.err()
	case p.closed.Load():
		return ErrClosed
	}
	return f()
}

// Close implements Spool; closing again does nothing.
func (p *pebbleSpool) Close() error {
	if !p.closing.CompareAndSwap(false, true) {
		return nil
	}
	<-p.loaded
	p.closed.Store(true)
	p.drain(func() bool { return p.ops.Load() == 0 })
	if err := p.db.Close(); err != nil && !p.f.broken.Load() {
		return fmt.Errorf("spool: closing: %w", err)
	}
	return nil
}

// retire closes a broken store: it waits for the calls inside it to
// return, up to grace for those inside a commit (Pebble may never return
// one queued behind the commit that failed; it is abandoned, and its
// caller never acknowledged anything), then closes Pebble.
func (p *pebbleSpool) retire(grace time.Duration) {
	if !p.closing.CompareAndSwap(false, true) {
		return
	}
	<-p.loaded
	p.closed.Store(true)
	p.drain(func() bool { return p.ops.Load() == p.committing.Load() })
	deadline := time.Now().Add(grace)
	p.drain(func() bool { return p.ops.Load() == 0 || time.Now().After(deadline) })
	if n := p.committing.Load(); n > 0 {
		p.log.Error("spool: abandoning writes that never returned from the broken store", "writes", n)
	}
	if err := p.db.Close(); err != nil {
		p.log.Warn("spool: closing the broken store", "err", err)
	}
}

// drain waits until done reports true.
func (p *pebbleSpool) drain(done func() bool) {
	for wait := 50 * time.Microsecond; !done(); wait = min(2*wait, 10*time.Millisecond) {
		time.Sleep(wait)
	}
}

// commit commits b, synced or not, and accounts its bytes. A write Pebble
// cannot make breaks the store (see faults.go) and returns ErrUnavailable.
func (p *pebbleSpool) commit(b *pebble.Batch, sync bool, delta int64) (err error) {
	if p.f.broken.Load() {
		return p.f.err()
	}
	opt := pebble.NoSync
	if sync {
		opt = pebble.Sync
	}
	p.committing.Add(1)
	defer func() {
		p.committing.Add(-1)
		if r := recover(); r != nil {
			fc, ok := r.(fatalCommit)
			if !ok {
				panic(r)
			}
			err = p.f.breakWith(fc.err)
		}
	}()
	if err := b.Commit(opt); err != nil {
		return fmt.Errorf("spool: writing: %w", err)
	}
	p.bytes.Add(delta)
	return nil
}

// get returns a copy of the value of key, or ErrNotFound.
func (p *pebbleSpool) get(key []byte) ([]byte, error) {
	v, c, err := p.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("spool: reading: %w", err)
	}
	out := append([]byte(nil), v...)
	c.Close()
	return out, nil
}

// diskSpace reads the free space of the spool's disk, at most every
// diskCheckEvery; between readings it subtracts what was written.
type diskSpace struct {
	fs  vfs.FS
	dir string

	mu      sync.Mutex
	at      time.Time
	avail   int64
	written int64
}

const diskCheckEvery = 250 * time.Millisecond

func (s *diskSpace) free() (int64, error) {
	u, err := s.fs.GetDiskUsage(s.dir)
	if err != nil {
		return 0, err
	}
	return int64(u.AvailBytes), nil
}

// roomFor reports whether the disk has n bytes free now, or cannot tell,
// and what it has.
func (s *diskSpace) roomFor(n int64) (int64, bool) {
	avail, err := s.free()
	return avail, err != nil || avail >= n
}

// room reports whether n more bytes leave at least minFree free.
func (s *diskSpace) room(n, minFree int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now := time.Now(); now.Sub(s.at) > diskCheckEvery {
		if avail, err := s.free(); err == nil {
			s.avail, s.written, s.at = avail, 0, now
		}
	}
	if s.at.IsZero() {
		return true // free space unknown (the FS cannot tell)
	}
	if s.avail-s.written-n < minFree {
		return false
	}
	s.written += n
	return true
}

var _ Spool = (*pebbleSpool)(nil)
