package spool

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
)

// diskFull is a file system whose writes fail with ENOSPC while it is on,
// as a full disk's do.
type diskFull struct {
	on     atomic.Bool
	failed atomic.Int64
}

func (d *diskFull) String() string { return "disk full" }

func (d *diskFull) MaybeError(op errorfs.Op) error {
	if !d.on.Load() || op.Kind.ReadOrWrite() != errorfs.OpIsWrite || op.Kind == errorfs.OpRemove {
		return nil
	}
	d.failed.Add(1)
	return fmt.Errorf("%s: %w", op.Path, syscall.ENOSPC)
}

func openFaulty(t *testing.T, mem vfs.FS, inj errorfs.Injector) Spool {
	t.Helper()
	return openWith(t, Options{FS: errorfs.Wrap(mem, inj), Dir: "/spool"})
}

// waitWritable appends throwaway events until one is stored: the store
// has been reopened.
func waitWritable(t *testing.T, sp Spool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; ; i++ {
		_, err := sp.Append(batch(fmt.Sprintf("probe%d", i), "p", t0, "http://probe:80"))
		if err == nil {
			return
		}
		if !errors.Is(err, ErrUnavailable) && !errors.Is(err, ErrOverloaded) {
			t.Fatalf("Append while recovering: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the store did not recover within 10s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A write that fails (ENOSPC) is an error of that call, not a panic; the
// store refuses writes until the disk has room, then reopens itself, and
// what was stored before the failure is there.
func TestWriteFailureBreaksThenRecovers(t *testing.T) {
	mem, full := vfs.NewMem(), &diskFull{}
	sp := openFaulty(t, mem, full)
	if _, err := sp.Append(batch("ev1", "one", t0, "http://a:80")); err != nil {
		t.Fatal(err)
	}
	full.on.Store(true)
	_, err := sp.Append(batch("ev2", "two", t0, "http://a:80"))
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Append on a full disk: %v, want ErrUnavailable", err)
	}
	if full.failed.Load() == 0 {
		t.Fatal("no write reached the file system")
	}
	for _, op := range []func() error{
		func() error { _, err := sp.Append(batch("ev3", "three", t0, "http://a:80")); return err },
		func() error { _, _, err := sp.Lease("http://a:80", t0, 1, time.Minute); return err },
		func() error { _, err := sp.Get("prod", "ev1-0"); return err },
	} {
		if err := op(); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("call to a broken store: %v, want ErrUnavailable", err)
		}
	}
	if due := sp.Next("http://a:80", t0); !due.After(t0) {
		t.Fatalf("a broken store says work is due at %v", due)
	}
	full.on.Store(false)
	waitWritable(t, sp)
	ds, _, err := sp.Lease("http://a:80", t0, 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].EventID != "ev1" {
		t.Fatalf("after recovery leased %v, want ev1's delivery alone", ids(ds))
	}
	if err := sp.Ack(ds[0], Attempt{At: t0}, nil); err != nil {
		t.Fatal(err)
	}
}

// Concurrent appends while the disk fills and empties: every call either
// stores its event or says it did not (ErrUnavailable, ErrOverloaded), and
// every stored event is there after the store recovered and after a
// restart.
func TestWriteFailuresLoseNothingAcknowledged(t *testing.T) {
	mem, full := vfs.NewMem(), &diskFull{}
	sp := openFaulty(t, mem, full)
	var mu sync.Mutex
	acked := map[string]bool{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				ev := fmt.Sprintf("w%d-%d", w, i)
				_, err := sp.Append(batch(ev, "payload "+ev, t0, "http://a:80"))
				switch {
				case err == nil:
					mu.Lock()
					acked[ev] = true
					mu.Unlock()
				case errors.Is(err, ErrUnavailable), errors.Is(err, ErrOverloaded):
					time.Sleep(time.Millisecond)
				default:
					t.Errorf("Append: %v", err)
					return
				}
			}
		}()
	}
	for range 3 {
		time.Sleep(30 * time.Millisecond)
		full.on.Store(true)
		time.Sleep(30 * time.Millisecond)
		full.on.Store(false)
		waitWritable(t, sp)
	}
	close(stop)
	wg.Wait()
	if full.failed.Load() == 0 {
		t.Fatal("no write failed")
	}
	check := func(sp Spool, when string) {
		t.Helper()
		for ev := range acked {
			if _, err := sp.Get("prod", ev+"-0"); err != nil {
				t.Fatalf("%s: acknowledged %s: %v", when, ev, err)
			}
		}
	}
	check(sp, "after recovery")
	if err := sp.Close(); err != nil {
		t.Fatal(err)
	}
	check(openWith(t, Options{FS: mem, Dir: "/spool"}), "after a restart")
	t.Logf("%d events acknowledged, %d writes failed", len(acked), full.failed.Load())
}
