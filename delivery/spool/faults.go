package spool

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Write failures (SPEC §11). Pebble treats a failed write of its WAL or
// MANIFEST as fatal: it calls its Logger's Fatalf, and its commit
// pipeline cannot go on. A full disk or an I/O error must not end the
// gateway, so the spool contains the failure in the store it happened to:
//
//   - the write that failed returns ErrUnavailable (the gateway's 503; it
//     was not acknowledged, so nothing acknowledged depends on it);
//   - the store is broken from then on: every call returns ErrUnavailable
//     at once, without touching Pebble;
//   - a recovery loop waits until the disk has room again, closes the
//     broken store and opens the directory afresh. Everything synced
//     before the failure is found again, as after a crash; leases held in
//     the broken store are lost, so their deliveries are due again (and
//     may be sent twice, which at-least-once allows).
//
// Before a write can fail, a flush that failed (the memtable could not be
// written out) makes Append refuse with ErrOverloaded until a flush
// succeeds, so the store stops taking events while Pebble cannot make
// room for them.

// ErrUnavailable is returned while the store cannot write: a write failed
// (a full disk, an I/O error) and the store is being reopened. Nothing was
// stored by the call that returned it; retry later.
var ErrUnavailable = errors.New("spool: store unavailable")

// commitFatal is the start of the Fatalf format Pebble uses when a commit
// fails; that call runs on the committing goroutine.
const commitFatal = "pebble: fatal commit error"

// emptyFlush is the error of a flush that had nothing to write: no
// failure.
const emptyFlush = "pebble: empty table"

// fatalCommit is the panic pebbleLogger raises for a failed commit, to
// unwind the committing goroutine back to pebbleSpool.commit.
type fatalCommit struct{ err error }

// faults is the failure state of one open store.
type faults struct {
	log      *slog.Logger
	broken   atomic.Bool // a write failed: refuse everything
	degraded atomic.Bool // the last flush failed: refuse appends
	cause    atomic.Pointer[error]
	onBreak  func() // called once, in its own goroutine, when broken
	once     sync.Once
	flushErr atomic.Int64 // consecutive failed flushes
}

// breakWith marks the store broken by cause and returns the error its
// callers get.
func (f *faults) breakWith(cause error) error {
	f.cause.CompareAndSwap(nil, &cause)
	f.broken.Store(true)
	f.once.Do(func() {
		f.log.Error("spool: a write failed; refusing writes until the store is reopened", "err", cause)
		if f.onBreak != nil {
			go f.onBreak()
		}
	})
	return f.err()
}

// err is the error of every call to a broken store.
func (f *faults) err() error {
	if c := f.cause.Load(); c != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, *c)
	}
	return ErrUnavailable
}

// listener is the Pebble event listener: it tracks failed flushes and
// slows Pebble's retries of them (Pebble retries a failed flush at once,
// and it runs under the store's mutex, so a short sleep is a backoff).
func (f *faults) listener() *pebble.EventListener {
	return &pebble.EventListener{
		BackgroundError: func(err error) {
			n := f.flushErr.Load()
			if n <= 1 || n%100 == 0 {
				f.log.Error("spool: pebble background error", "err", err, "consecutive_flush_errors", n)
			}
			if n > 0 {
				time.Sleep(min(time.Duration(n)*10*time.Millisecond, 500*time.Millisecond))
			}
		},
		FlushEnd: func(info pebble.FlushInfo) {
			if info.Err != nil && info.Err.Error() != emptyFlush {
				f.flushErr.Add(1)
				f.degraded.Store(true)
				return
			}
			if f.flushErr.Swap(0) > 0 {
				f.log.Info("spool: memtable flush succeeded again; accepting events")
			}
			f.degraded.Store(false)
		},
	}
}

// pebbleLogger sends Pebble's errors to slog and drops its chatter. Its
// Fatalf does not end the process: a failed commit unwinds to the commit
// (fatalCommit); any other fatal error breaks the store.
type pebbleLogger struct {
	log *slog.Logger
	f   *faults
}

func (l pebbleLogger) Infof(string, ...any) {}

func (l pebbleLogger) Errorf(format string, args ...any) {
	l.log.Error("spool: pebble", "msg", fmt.Sprintf(format, args...))
}

func (l pebbleLogger) Fatalf(format string, args ...any) {
	err := fmt.Errorf(format, args...)
	if strings.HasPrefix(format, commitFatal) {
		panic(fatalCommit{err})
	}
	l.f.breakWith(err)
}

// reopener is the Spool Open returns: it forwards every call to the
// current store and replaces a broken one with a fresh store on the same
// directory once the disk has room.
type reopener struct {
	o    Options
	cur  atomic.Pointer[pebbleSpool]
	quit chan struct{}
	done sync.WaitGroup

	mu     sync.Mutex // held while replacing the store and by Close
	closed bool
}

// reopenEvery is how often recovery checks the disk and retries an open.
const reopenEvery = 500 * time.Millisecond

// reopenRoom is the free space recovery waits for before it reopens the
// store: enough for the WAL of the deliveries that then complete and free
// space. Appends still keep MinFree free (admit).
const reopenRoom = 4 << 20

// reopenGrace bounds how long recovery waits for calls still inside the
// broken store; Pebble may never return a commit that was queued behind
// the one that failed.
const reopenGrace = 5 * time.Second

// Open opens (creating if needed) the Pebble spool in o.Dir. Deliveries
// left pending by an earlier run are found again, none of them leased.
func Open(o Options) (Spool, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	r := &reopener{o: o, quit: make(chan struct{})}
	r.mu.Lock()
	defer r.mu.Unlock()
	p, err := openStore(o, r.recoverFrom, 0)
	if err != nil {
		return nil, err
	}
	r.cur.Store(p)
	return r, nil
}

// recoverFrom replaces the store whose faults are f, broken, with a fresh
// one once it can. A store broken while it was being opened was never in
// use: its open failed.
func (r *reopener) recoverFrom(f *faults) {
	r.mu.Lock()
	old := r.cur.Load()
	if r.closed || old == nil || old.f != f {
		r.mu.Unlock()
		return
	}
	r.done.Add(1)
	r.mu.Unlock()
	defer r.done.Done()
	old.retire(reopenGrace)
	need := int64(reopenRoom)
	for waited := false; ; {
		select {
		case <-r.quit:
			return
		case <-time.After(reopenEvery):
		}
		if avail, ok := old.disk.roomFor(need); !ok {
			if !waited {
				r.o.Logger.Warn("spool: waiting for free disk space to reopen the store", "need_bytes", need, "free_bytes", avail)
				waited = true
			}
			continue
		}
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			return
		}
		p, err := openStore(r.o, r.recoverFrom, old.leaseSeq.Load())
		if err == nil {
			for _, dest := range old.restingDests() { // the scheduler told the old store
				p.Rest(dest, true)
			}
			r.cur.Store(p)
			r.o.MaxBytes = p.o.MaxBytes
		}
		r.mu.Unlock()
		if err == nil {
			r.o.Logger.Info("spool: store reopened after a write failure", "pending", p.pending.Load())
			return
		}
		r.o.Logger.Warn("spool: reopening the store failed; retrying", "err", err)
	}
}

// Close implements Spool.
func (r *reopener) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	close(r.quit)
	r.mu.Unlock()
	r.done.Wait()
	return r.cur.Load().Close()
}

func (r *reopener) Append(b *Batch) (AppendResult, error) { return r.cur.Load().Append(b) }

func (r *reopener) Lease(dest string, now time.Time, max int, ttl time.Duration) ([]*Delivery, time.Time, error) {
	return r.cur.Load().Lease(dest, now, max, ttl)
}

func (r *reopener) Body(d *Delivery) (*Body, error) { return r.cur.Load().Body(d) }
func (r *reopener) Ack(d *Delivery, a Attempt, then *Batch) error {
	return r.cur.Load().Ack(d, a, then)
}

func (r *reopener) Reschedule(d *Delivery, a Attempt, due time.Time) error {
	return r.cur.Load().Reschedule(d, a, due)
}

func (r *reopener) Dead(d *Delivery, a Attempt, status Status, reason string) error {
	return r.cur.Load().Dead(d, a, status, reason)
}

func (r *reopener) Release(d *Delivery, due time.Time) error { return r.cur.Load().Release(d, due) }

func (r *reopener) Redrive(env, id string, now, expires time.Time) (*Delivery, error) {
	return r.cur.Load().Redrive(env, id, now, expires)
}

func (r *reopener) Get(env, id string) (*Delivery, error) { return r.cur.Load().Get(env, id) }

func (r *reopener) Dedupe(env, integ, key string, now time.Time) (string, bool, error) {
	return r.cur.Load().Dedupe(env, integ, key, now)
}

func (r *reopener) List(env string, status Status, after string, limit int) ([]*Delivery, error) {
	return r.cur.Load().List(env, status, after, limit)
}

func (r *reopener) Next(dest string, now time.Time) time.Time { return r.cur.Load().Next(dest, now) }
func (r *reopener) Destinations(now time.Time) []DestDue      { return r.cur.Load().Destinations(now) }
func (r *reopener) Rest(dest string, resting bool)            { r.cur.Load().Rest(dest, resting) }
func (r *reopener) Pending(dest string) int64                 { return r.cur.Load().Pending(dest) }

// Watch implements Spool: the embedded store never calls f (every store
// it reopens holds only what this process wrote).
func (r *reopener) Watch(func(dest string, due time.Time)) {}

func (r *reopener) Sweep(now time.Time, max int, reason string) ([]*Delivery, error) {
	return r.cur.Load().Sweep(now, max, reason)
}

func (r *reopener) Expire(now, deadBefore time.Time, max int) (int, error) {
	return r.cur.Load().Expire(now, deadBefore, max)
}

func (r *reopener) Stats() Stats { return r.cur.Load().Stats() }

var _ Spool = (*reopener)(nil)
