package spool

import (
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"
)

// Conformance tests of the parts of the contract that runner and sync
// deliveries, the admin API and resting circuits need, over every
// backend.

const testTraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

// Ack with a batch to follow stores the batch before the delivery goes:
// the new deliveries are leased, with their kind, sync, model and trace
// context, after a restart.
func TestConformAckThen(t *testing.T) {
	const runner = "http://runner:80"
	forEachBackend(t, func(t *testing.T, be backend) {
		sp, reopen := be.open(t)
		now := time.Now()
		ev := batch("at", `{"issue":1}`, now, runner)
		r := ev.Deliveries[0]
		r.Kind, r.SyncName, r.Model, r.TraceParent = KindRunner, "issues", "Issue", testTraceParent
		mustAppend(t, sp, ev)
		got := mustLease(t, sp, runner, "at-0")
		if d := got[0]; d.Kind != KindRunner || d.SyncName != "issues" || d.Model != "Issue" || d.TraceParent != testTraceParent {
			t.Fatalf("the leased runner delivery: %+v", d)
		}
		then := &Batch{EventID: "at-sync", Bodies: []BodyIn{{Payload: []byte(`{"type":"sync"}`)}}}
		s := delivery("at-sync-0", "at-sync", destA, now)
		s.Kind, s.SyncName, s.Model, s.TraceParent = KindSync, "issues", "Issue", testTraceParent
		then.Deliveries = append(then.Deliveries, s)
		if err := sp.Ack(got[0], Attempt{At: now, Status: 200}, then); err != nil {
			t.Fatal(err)
		}
		eventually(t, 2*time.Second, "the acked runner delivery is gone", func() bool {
			_, err := sp.Get("prod", "at-0")
			return errors.Is(err, ErrNotFound)
		})
		sp = reopen(sp)
		l := mustLease(t, sp, destA, "at-sync-0")
		if d := l[0]; d.Kind != KindSync || d.SyncName != "issues" || d.Model != "Issue" || d.TraceParent != testTraceParent {
			t.Fatalf("the leased sync delivery: %+v", d)
		}
		if _, p := readBody(t, sp, l[0]); p != `{"type":"sync"}` {
			t.Fatalf("the sync delivery's body: %q", p)
		}
		noneDue(t, sp, runner)
	})
}

// List pages through an environment's deliveries with after: each once.
func TestConformListAfter(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		sp, _ := be.open(t)
		now := time.Now()
		var want []string
		for i := range 5 {
			ev := "la" + strconv.Itoa(i)
			mustAppend(t, sp, batch(ev, `{}`, now.Add(time.Duration(i)*time.Millisecond), destA))
			want = append(want, ev+"-0")
		}
		var all []string
		eventually(t, 2*time.Second, "List pages through the pending deliveries", func() bool {
			all = all[:0]
			after := ""
			for range 10 {
				page, err := sp.List("prod", StatusPending, after, 2)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) > 2 {
					t.Fatalf("List(limit 2) = %v", ids(page))
				}
				if len(page) == 0 {
					break
				}
				all = append(all, ids(page)...)
				after = page[len(page)-1].ID
			}
			slices.Sort(all)
			return slices.Equal(all, want)
		})
	})
}

// Pending counts a destination's pending deliveries, leased or not. (A
// shared store counts what its destinations' consumers hold, which exist
// once a destination has been leased from: the scheduler has by the time
// it lists the destination.)
func TestConformPending(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		sp, _ := be.open(t)
		now := time.Now()
		mustAppend(t, sp, batch("pn1", `{}`, now, destA, destB))
		mustAppend(t, sp, batch("pn2", `{}`, now.Add(time.Millisecond), destA))
		counts := func(a, b int64) func() bool {
			return func() bool { return sp.Pending(destA) == a && sp.Pending(destB) == b }
		}
		got := mustLease(t, sp, destA, "pn1-0", "pn2-0")
		mustLease(t, sp, destB, "pn1-1")
		eventually(t, 5*time.Second, "Pending counts leased deliveries", counts(2, 1))
		if err := sp.Ack(got[0], Attempt{At: now, Status: 200}, nil); err != nil {
			t.Fatal(err)
		}
		if err := sp.Release(got[1], time.Now()); err != nil {
			t.Fatal(err)
		}
		eventually(t, 5*time.Second, "Pending is 1 and 1 after an ack and a release", counts(1, 1))
	})
}

// Sweep dead-letters the due deliveries of a resting destination whose
// schedule has run out, and only those.
func TestConformSweep(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		sp, _ := be.open(t)
		now := time.Now()
		sp.Rest(destA, true)
		old := batch("sw1", `{"s":1}`, now.Add(-time.Hour), destA)
		old.Deliveries[0].Expires = now.Add(-time.Minute)
		fresh := batch("sw2", `{"s":2}`, now, destA)
		fresh.Deliveries[0].Expires = now.Add(time.Hour)
		other := batch("sw3", `{"s":3}`, now.Add(-time.Hour), destB) // run out, but destB does not rest
		other.Deliveries[0].Expires = now.Add(-time.Minute)
		for _, b := range []*Batch{old, fresh, other} {
			mustAppend(t, sp, b)
		}
		const reason = "retry schedule exhausted behind an open circuit"
		var swept []*Delivery
		eventually(t, 5*time.Second, "Sweep dead-letters sw1-0", func() bool {
			ds, err := sp.Sweep(time.Now(), 10, reason)
			if err != nil {
				t.Fatal(err)
			}
			swept = append(swept, ds...)
			return len(swept) > 0
		})
		if len(swept) != 1 || swept[0].ID != "sw1-0" || swept[0].Status != StatusDead || swept[0].Reason != reason {
			t.Fatalf("Sweep = %v (%+v)", ids(swept), swept)
		}
		if ds, err := sp.Sweep(time.Now(), 10, reason); err != nil || len(ds) != 0 {
			t.Fatalf("a second Sweep = %v, %v", ids(ds), err)
		}
		eventually(t, 2*time.Second, "sw1-0 is a dead letter", func() bool {
			d, err := sp.Get("prod", "sw1-0")
			return err == nil && d.Status == StatusDead && d.Reason == reason
		})
		sp.Rest(destA, false)
		mustLease(t, sp, destA, "sw2-0")
		mustLease(t, sp, destB, "sw3-0")
	})
}
