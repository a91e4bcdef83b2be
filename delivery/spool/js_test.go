package spool

import (
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgehook/edgehook/internal/natstest"
)

// What a shared store adds: several instances on one stream.

// watcher records the destinations a spool announces.
type watcher struct {
	mu    sync.Mutex
	dests map[string]int
}

func watch(sp Spool) *watcher {
	w := &watcher{dests: map[string]int{}}
	sp.Watch(func(dest string, _ time.Time) {
		w.mu.Lock()
		w.dests[dest]++
		w.mu.Unlock()
	})
	return w
}

func (w *watcher) heard(dest string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.dests[dest]
}

// Any instance delivers any instance's events: B hears of what A
// appends and leases it, retries coming due on the servers' schedule
// included.
func TestJetStreamSharedAcrossInstances(t *testing.T) {
	o := jsTestOptions(t)
	a, b := openJS(t, o), openJS(t, o)
	w := watch(b)
	now := time.Now()
	for i := range 5 {
		mustAppend(t, a, batch("x"+strconv.Itoa(i), "{}", now, destA))
	}
	eventually(t, 5*time.Second, "B hears of A's deliveries", func() bool { return w.heard(destA) > 0 })
	got := mustLease(t, b, destA, "x0-0", "x1-0", "x2-0", "x3-0", "x4-0")
	if err := b.Reschedule(got[0], Attempt{At: now, Status: 500}, time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	for _, d := range got[1:] {
		if err := b.Ack(d, Attempt{At: now, Status: 200}, nil); err != nil {
			t.Fatal(err)
		}
	}
	before := w.heard(destA)
	eventually(t, 5*time.Second, "B hears of the retry falling due", func() bool { return w.heard(destA) > before })
	if again := mustLease(t, b, destA, "x0-0"); again[0].Attempts != 1 {
		t.Fatalf("the retry has %d attempts", again[0].Attempts)
	}
	if st := a.Stats(); st.Leased != 0 {
		t.Fatalf("A holds %d leases", st.Leased)
	}
}

// The leases of an instance that is gone come back after AckWait, to
// another instance, which hears of them.
func TestJetStreamLostInstanceLeases(t *testing.T) {
	o := jsTestOptions(t)
	a := openJS(t, o)
	now := time.Now()
	for i := range 3 {
		mustAppend(t, a, batch("lost"+strconv.Itoa(i), "{}", now, destA))
	}
	held := mustLease(t, a, destA, "lost0-0", "lost1-0", "lost2-0")
	b := openJS(t, o)
	w := watch(b)
	a.(*jsSpool).nc.Close() // gone, as with kill -9: nothing handed back
	gone := time.Now()
	eventually(t, 10*time.Second, "B hears of the lost leases", func() bool { return w.heard(destA) > 0 })
	back, _ := leaseWithin(t, b, destA, 3, 10*time.Second)
	slices.SortFunc(back, func(x, y *Delivery) int { return compareIDs(x.ID, y.ID) })
	if !slices.Equal(ids(back), ids(held)) {
		t.Fatalf("B leased %v; want %v", ids(back), ids(held))
	}
	if took := time.Since(gone); took < o.AckWait/2 { // fetched ahead a little before gone
		t.Fatalf("the leases came back after %v; AckWait is %v", took, o.AckWait)
	}
	if err := a.Ack(held[0], Attempt{At: now, Status: 200}, nil); err == nil {
		t.Fatal("the lost instance acknowledged a delivery leased again")
	}
}

func compareIDs(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Dedupe is cluster-wide: two instances given the same provider delivery
// at the same moment store it once and answer one of them duplicate.
func TestJetStreamDedupeAcrossInstances(t *testing.T) {
	o := jsTestOptions(t)
	a, b := openJS(t, o), openJS(t, o)
	const keys = 20
	now := time.Now()
	var dups, firsts atomic.Int64
	var wg sync.WaitGroup
	for k := range keys {
		for i, sp := range []Spool{a, b} {
			wg.Go(func() {
				ev := fmt.Sprintf("%c%d", 'a'+i, k)
				bt := batch(ev, "{}", now, destA)
				bt.Deliveries[0].ID = "same" + strconv.Itoa(k) // as delivery ids derived from the provider's id are
				res, err := sp.Append(withDedupe(bt, "github", "key"+strconv.Itoa(k), now, time.Hour))
				if err != nil {
					t.Error(err)
					return
				}
				if res.Duplicate {
					dups.Add(1)
				} else {
					firsts.Add(1)
				}
			})
		}
	}
	wg.Wait()
	got, _ := leaseWithin(t, a, destA, keys+1, 3*time.Second)
	if len(got) != keys {
		t.Fatalf("%d deliveries stored for %d keys appended twice each", len(got), keys)
	}
	if dups.Load() != keys || firsts.Load() != keys {
		t.Fatalf("%d accepted, %d duplicates; want %d each", firsts.Load(), dups.Load(), keys)
	}
}

// Losing the server that leads the stream: appends fail for the
// election, then go on; every acknowledged append is delivered.
func TestJetStreamLeaderLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of its own")
	}
	c := natstest.Start(t, 3)
	o := jsTestOptions(t)
	o.URL, o.Timeout = c.URL(), 3*time.Second
	sp := openJS(t, o)
	var (
		mu      sync.Mutex
		acked   []string
		gaps    time.Duration
		killed  atomic.Bool
		resumed int // appends begun after the leader was lost and acknowledged
		stop    = make(chan struct{})
		done    = make(chan struct{})
	)
	go func() {
		defer close(done)
		last := time.Now()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			ev := "ll" + strconv.Itoa(i)
			after := killed.Load()
			if _, err := sp.Append(batch(ev, "{}", time.Now(), destA)); err != nil {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			mu.Lock()
			if after {
				resumed++
			}
			acked = append(acked, ev+"-0")
			gaps = max(gaps, time.Since(last))
			mu.Unlock()
			last = time.Now()
		}
	}()
	time.Sleep(time.Second)
	leader := c.StreamLeader("$G", o.Stream)
	if leader < 0 {
		t.Fatal("no stream leader")
	}
	c.Stop(leader)
	killed.Store(true)
	time.Sleep(8 * time.Second)
	close(stop)
	<-done
	mu.Lock()
	n, gap, again := len(acked), gaps, resumed
	mu.Unlock()
	t.Logf("%d appends acknowledged, %d begun after the leader was lost; the longest wait between two: %v", n, again, gap)
	if again == 0 {
		t.Fatal("no append was acknowledged in the 8s after the leader was lost")
	}
	if gap > 20*time.Second {
		t.Fatalf("appends stopped for %v after the leader was lost", gap)
	}
	seen := map[string]bool{}
	deadline := time.Now().Add(30 * time.Second)
	for len(seen) < n && time.Now().Before(deadline) {
		got, _ := leaseWithin(t, sp, destA, 64, 200*time.Millisecond)
		for _, d := range got {
			seen[d.ID] = true
			if err := sp.Ack(d, Attempt{At: time.Now(), Status: 200}, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, id := range acked {
		if !seen[id] {
			t.Fatalf("acknowledged %s not delivered (%d of %d leased)", id, len(seen), n)
		}
	}
}
