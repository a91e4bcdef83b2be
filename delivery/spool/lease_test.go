package spool

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// Issue 8, defect 3, forced deterministically: a delivery whose attempt
// outlasted its retry delay is rescheduled due in the past; between the
// write of its new queue key and its publication in memory, another event
// of the same destination is appended and the destination's queue is
// scanned and leased to the end. Under the old protocol the scan's cursor
// passed the new key and the delivery stayed on disk, due and unsent. Here
// it must be leased at its due time.
func TestRescheduledDuringScanIsNotStranded(t *testing.T) {
	const dest = "http://app:80"
	var sp Spool
	var once sync.Once
	o := Options{PerDestCached: 2, ScanBatch: 1, Hook: func(op string, d *Delivery) {
		if d.ID != "slow" || d.Attempts != 1 {
			return
		}
		once.Do(func() {
			// The write of slow's new key is done; it is not published yet.
			mustAppend(t, sp, batch("other", "{}", t0.Add(21*time.Second), dest))
			for {
				got, _, err := sp.Lease(dest, t0.Add(21*time.Second), 10, time.Hour)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) == 0 {
					return
				}
				for _, g := range got {
					if g.ID == "slow" {
						t.Fatal("leased while its reschedule was being written")
					}
					sp.Ack(g, Attempt{At: t0}, nil)
				}
			}
		})
	}}
	sp = memSpool(t, vfs.NewMem(), o)
	b := batch("ev", "{}", t0.Add(-time.Second), dest)
	b.Deliveries[0].ID = "slow"
	mustAppend(t, sp, b)
	for i := range 5 { // a backlog, so that scans have something to pass over
		mustAppend(t, sp, batch("bg"+strconv.Itoa(i), "{}", t0, dest))
	}
	got, _, err := sp.Lease(dest, t0, 1, time.Hour)
	if err != nil || len(got) != 1 || got[0].ID != "slow" {
		t.Fatalf("Lease = %v, %v", ids(got), err)
	}
	// The attempt took 20 s against a 5 s retry step: its due time passed.
	if err := sp.Reschedule(got[0], Attempt{At: t0, Duration: 20 * time.Second, Error: "timeout"}, t0.Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(21 * time.Second)
	got, next, err := sp.Lease(dest, now, 10, time.Hour)
	if err != nil || len(got) != 1 || got[0].ID != "slow" || got[0].Attempts != 1 {
		t.Fatalf("after the interleaving Lease = %v (next %v), %v; want the rescheduled delivery", ids(got), next, err)
	}
	if dd := sp.Destinations(now); len(dd) != 0 {
		t.Fatalf("Destinations = %v with everything leased", dd)
	}
}

// Concurrent appenders, leasers and finishers on several destinations:
// no delivery is leased twice at once, every delivery is finished exactly
// once, and nothing is left.
func TestSpoolConcurrent(t *testing.T) {
	sp := memSpool(t, vfs.NewMem(), Options{PerDestCached: 8, MaxCached: 20, ScanBatch: 4})
	dests := []string{"http://a:80", "http://b:80", "http://c:80"}
	const events = 600
	var (
		mu       sync.Mutex
		leased   = map[string]bool{}
		finished = map[string]int{}
		appended atomic.Int64
		wg       sync.WaitGroup
		errs     = make(chan error, 100)
	)
	now := func() time.Time { return t0.Add(time.Hour) }
	for w := range 3 {
		wg.Go(func() {
			for i := w; i < events; i += 3 {
				mustAppend(t, sp, batch("e"+strconv.Itoa(i), "{}", t0.Add(time.Duration(i)), dests[i%3], dests[(i+1)%3]))
				appended.Add(2)
			}
		})
	}
	for w := range 6 {
		wg.Go(func() {
			dest := dests[w%3]
			for {
				got, _, err := sp.Lease(dest, now(), 1+w%3, time.Hour)
				if err != nil {
					errs <- err
					return
				}
				if len(got) == 0 {
					mu.Lock()
					done := appended.Load() == 2*events && len(finished) == 2*events
					mu.Unlock()
					if done {
						return
					}
					time.Sleep(100 * time.Microsecond)
					continue
				}
				for _, d := range got {
					mu.Lock()
					if leased[d.ID] {
						errs <- fmt.Errorf("%s leased twice at once", d.ID)
					}
					leased[d.ID] = true
					mu.Unlock()
					mu.Lock() // ours until the spool ends the lease below
					delete(leased, d.ID)
					mu.Unlock()
					var err error
					if d.Attempts == 0 { // fail once, due again at once (in the past)
						err = sp.Reschedule(d, Attempt{At: t0}, t0)
					} else { // local trouble: put back as it is
						err = sp.Release(d, t0)
					}
					if err != nil {
						errs <- err
					}
				}
			}
		})
	}
	// The finisher acks what has had its failed attempt.
	wg.Go(func() {
		for {
			mu.Lock()
			done := len(finished) == 2*events
			mu.Unlock()
			if done {
				return
			}
			for _, dest := range dests {
				got, _, err := sp.Lease(dest, now(), 5, time.Hour)
				if err != nil {
					errs <- err
					return
				}
				for _, d := range got {
					mu.Lock()
					if leased[d.ID] {
						errs <- fmt.Errorf("%s leased twice at once", d.ID)
					}
					leased[d.ID] = true
					delete(leased, d.ID) // ours until the spool ends the lease below
					mu.Unlock()
					if d.Attempts == 0 {
						if err := sp.Release(d, t0); err != nil {
							errs <- err
						}
						continue
					}
					if err := sp.Ack(d, Attempt{At: t0}, nil); err != nil {
						errs <- err
						continue
					}
					mu.Lock()
					finished[d.ID]++
					mu.Unlock()
				}
			}
			time.Sleep(50 * time.Microsecond)
		}
	})
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case err := <-errs:
		t.Fatal(err)
	case <-time.After(60 * time.Second):
		mu.Lock()
		n := len(finished)
		mu.Unlock()
		t.Fatalf("stuck: %d of %d finished, stats %+v", n, 2*events, sp.Stats())
	}
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	for id, n := range finished {
		if n != 1 {
			t.Errorf("%s finished %d times", id, n)
		}
	}
	if st := sp.Stats(); st.Pending != 0 || st.Leased != 0 || st.BodyBytes != 0 || st.Cached != 0 {
		t.Fatalf("left behind: %+v", st)
	}
}

// A lease its holder never ends expires: the delivery is leased again, and
// the old holder's result is refused.
func TestLeaseExpires(t *testing.T) {
	sp := memSpool(t, vfs.NewMem(), Options{})
	mustAppend(t, sp, batch("ev", "{}", t0, "http://a:80"))
	first, _, _ := sp.Lease("http://a:80", t0, 1, time.Second)
	if len(first) != 1 {
		t.Fatal("not leased")
	}
	if again, _, _ := sp.Lease("http://a:80", t0.Add(500*time.Millisecond), 1, time.Second); len(again) != 0 {
		t.Fatal("leased twice within the lease")
	}
	again, _, _ := sp.Lease("http://a:80", t0.Add(2*time.Second), 1, time.Second)
	if len(again) != 1 || again[0].ID != first[0].ID {
		t.Fatalf("after expiry Lease = %v", ids(again))
	}
	if err := sp.Ack(first[0], Attempt{At: t0}, nil); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("the expired holder's Ack = %v; want ErrLeaseLost", err)
	}
	if err := sp.Ack(again[0], Attempt{At: t0}, nil); err != nil {
		t.Fatal(err)
	}
	if st := sp.Stats(); st.Pending != 0 {
		t.Fatalf("%+v", st)
	}
}
