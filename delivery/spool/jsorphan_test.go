package spool

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// An idle destination's consumer is removed (IdleConsumer) by whichever
// instance's poll sees it idle first. Work written for that destination
// must still be found by a delivering instance that starts later and
// learns of work only by listing consumers (no instance was subscribed
// when it was written), however the removal and the write interleave.

// consumerGone waits until sp's stream no longer has dest's consumer of
// class cl.
func consumerGone(t *testing.T, sp Spool, dest string, cl int) {
	t.Helper()
	j := sp.(*jsSpool)
	name := jsClass[cl] + "-" + destToken(dest)
	eventually(t, 10*time.Second, "the idle consumer removed", func() bool {
		_, err := j.st.Consumer(context.Background(), name)
		return errors.Is(err, jetstream.ErrConsumerNotFound)
	})
}

// A writes a delivery through its handle of a consumer that B has just
// removed; once A's poll sees the consumer gone, the delivery has a
// consumer again, and C, starting afterwards, hears of it.
func TestJetStreamWriteThroughRemovedConsumer(t *testing.T) {
	o := jsTestOptions(t)
	ao := o
	ao.Poll = time.Hour                                                    // polled by hand below, after the stale write
	ao.PullWait, ao.ActiveFor = 200*time.Millisecond, 200*time.Millisecond // no pull request left waiting
	bo := ao
	bo.Poll, bo.IdleConsumer = o.Poll, 300*time.Millisecond
	a, b := openJS(t, ao), openJS(t, bo)
	now := time.Now()
	mustAppend(t, a, batch("w0", "{}", now, destA)) // A's handle of f-<destA>
	for _, d := range mustLease(t, b, destA, "w0-0") {
		if err := b.Ack(d, Attempt{At: now, Status: 200}, nil); err != nil {
			t.Fatal(err)
		}
	}
	consumerGone(t, a, destA, classFirst)
	mustAppend(t, a, batch("w1", "{}", time.Now(), destA)) // through the stale handle
	a.(*jsSpool).poll()                                    // A's next poll
	c := openJS(t, o)
	w := watch(c)
	eventually(t, 10*time.Second, "C hears of the delivery written after the removal", func() bool { return w.heard(destA) > 0 })
	mustLease(t, c, destA, "w1-0")
}

// A retry waiting for its time (a scheduled message) keeps its
// destination's retry consumer: when it comes due with no instance
// subscribed, C, starting afterwards, still hears of it.
func TestJetStreamScheduledRetryKeepsItsConsumer(t *testing.T) {
	o := jsTestOptions(t)
	ao := o
	ao.Poll = time.Hour
	ao.PullWait, ao.ActiveFor = 200*time.Millisecond, 200*time.Millisecond // no pull request left waiting
	bo := ao
	bo.Poll, bo.IdleConsumer = o.Poll, 300*time.Millisecond
	a, b := openJS(t, ao), openJS(t, bo)
	now := time.Now()
	mustAppend(t, a, batch("s0", "{}", now, destA))
	d := mustLease(t, a, destA, "s0-0")[0]
	due := time.Now().Add(3 * time.Second)
	if err := a.Reschedule(d, Attempt{At: now, Status: 500}, due); err != nil {
		t.Fatal(err)
	}
	consumerGone(t, b, destA, classFirst)                    // B's poll removes what is idle
	time.Sleep(time.Until(due.Add(1500 * time.Millisecond))) // due, published to the retry queue, heard by none
	a.(*jsSpool).poll()
	c := openJS(t, o)
	w := watch(c)
	eventually(t, 10*time.Second, "C hears of the retry that came due", func() bool { return w.heard(destA) > 0 })
	if got := mustLease(t, c, destA, "s0-0"); got[0].Attempts != 1 {
		t.Fatalf("the retry has %d attempts", got[0].Attempts)
	}
}

// A destination's pending count includes its retries waiting for their
// time, and drops them once they are delivered.
func TestJetStreamPendingCountsWaitingRetries(t *testing.T) {
	o := jsTestOptions(t)
	sp := openJS(t, o)
	now := time.Now()
	mustAppend(t, sp, batch("p0", "{}", now, destA))
	mustAppend(t, sp, batch("p1", "{}", now, destA))
	got := mustLease(t, sp, destA, "p0-0", "p1-0")
	if err := sp.Reschedule(got[0], Attempt{At: now, Status: 500}, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := sp.Ack(got[1], Attempt{At: now, Status: 200}, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the waiting retry counted", func() bool { return sp.Pending(destA) == 1 })
	d, err := sp.Get("prod", "p0-0")
	if err != nil || d.Attempts != 1 || d.Status != StatusPending {
		t.Fatalf("Get of the waiting retry: %+v, %v", d, err)
	}
}
