package spool

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

// The spool conformance tests: what every backend must do, run over each
// (backends_test.go). They use the real clock: JetStream schedules
// retries on its servers' clocks.

const (
	destA = "http://app-a:80"
	destB = "http://app-b:80"
)

// leaseWithin leases from dest until n deliveries came or d passed, and
// returns them with the time each came.
func leaseWithin(t *testing.T, sp Spool, dest string, n int, d time.Duration) ([]*Delivery, []time.Time) {
	t.Helper()
	var out []*Delivery
	var at []time.Time
	deadline := time.Now().Add(d)
	for len(out) < n && time.Now().Before(deadline) {
		got, _, err := sp.Lease(dest, time.Now(), n-len(out), time.Hour)
		if err != nil {
			t.Fatalf("Lease(%s): %v", dest, err)
		}
		for range got {
			at = append(at, time.Now())
		}
		if out = append(out, got...); len(got) == 0 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	return out, at
}

// mustLease leases exactly the deliveries want from dest, in that order.
func mustLease(t *testing.T, sp Spool, dest string, want ...string) []*Delivery {
	t.Helper()
	got, _ := leaseWithin(t, sp, dest, len(want), 5*time.Second)
	if !slices.Equal(ids(got), want) {
		t.Fatalf("Lease(%s) = %v; want %v", dest, ids(got), want)
	}
	return got
}

// noneDue checks that nothing of dest can be leased now.
func noneDue(t *testing.T, sp Spool, dest string) {
	t.Helper()
	got, _, err := sp.Lease(dest, time.Now(), 10, time.Hour)
	if err != nil || len(got) != 0 {
		t.Fatalf("Lease(%s) = %v, %v; want nothing due", dest, ids(got), err)
	}
}

// readBody returns the payload of d's body.
func readBody(t *testing.T, sp Spool, d *Delivery) (string, string) {
	t.Helper()
	b, err := sp.Body(d)
	if err != nil {
		t.Fatalf("Body(%s): %v", d.ID, err)
	}
	r, err := b.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(p)) != b.Len() {
		t.Fatalf("Body(%s): read %d bytes, Len %d", d.ID, len(p), b.Len())
	}
	return string(b.Header), string(p)
}

func withDedupe(b *Batch, integ, key string, now time.Time, ttl time.Duration) *Batch {
	b.Dedupe = &Dedupe{Env: "prod", Integration: integ, Key: key, EventID: b.EventID, Now: now, Expires: now.Add(ttl)}
	return b
}

// Append stores an event once per dedupe key within its window, and its
// deliveries with their bodies.
func TestConformAppendDedupe(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		sp, _ := be.open(t)
		now := time.Now()
		mustAppend(t, sp, withDedupe(batch("ev1", `{"n":1}`, now, destA), "github", "k1", now, time.Hour))
		res, err := sp.Append(withDedupe(batch("ev2", `{"n":1}`, now, destA), "github", "k1", now, time.Hour))
		if err != nil || !res.Duplicate || res.FirstID != "ev1" {
			t.Fatalf("a duplicate: %+v, %v; want the first event's id", res, err)
		}
		if id, ok, err := sp.Dedupe("prod", "github", "k1", now); err != nil || !ok || id != "ev1" {
			t.Fatalf("Dedupe(github, k1) = %q, %v, %v; want ev1", id, ok, err)
		}
		// The same key of another integration, and the key past its
		// window, are new.
		mustAppend(t, sp, withDedupe(batch("ev3", `{"n":3}`, now, destA), "stripe", "k1", now, time.Hour))
		later := now.Add(2 * time.Hour)
		mustAppend(t, sp, withDedupe(batch("ev4", `{"n":4}`, now, destA), "github", "k1", later, time.Hour))
		mustAppend(t, sp, batch("ev5", `{"shared":5}`, now, destA, destB))
		// A provider's delivery id finds the event it became while its
		// record lives (ev4's record replaced ev1's expired one).
		for _, c := range []struct {
			integ, key string
			at         time.Time
			want       string
		}{{"stripe", "k1", now, "ev3"}, {"github", "k1", later, "ev4"},
			{"github", "k2", now, ""}, {"github", "k1", later.Add(2 * time.Hour), ""}} {
			id, ok, err := sp.Dedupe("prod", c.integ, c.key, c.at)
			if err != nil || ok != (c.want != "") || id != c.want {
				t.Fatalf("Dedupe(%s, %s, %v) = %q, %v, %v; want %q", c.integ, c.key, c.at, id, ok, err, c.want)
			}
		}
		if _, err := sp.Get("prod", "ev2-0"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("the duplicate's delivery: %v; want it never stored", err)
		}
		d, err := sp.Get("prod", "ev1-0")
		if err != nil || d.Status != StatusPending || d.Attempts != 0 || d.Dest != destA || d.EventID != "ev1" {
			t.Fatalf("Get(ev1-0) = %+v, %v", d, err)
		}
		got := mustLease(t, sp, destA, "ev1-0", "ev3-0", "ev4-0", "ev5-0")
		for i, want := range []string{`{"n":1}`, `{"n":3}`, `{"n":4}`, `{"shared":5}`} {
			if h, p := readBody(t, sp, got[i]); p != want || h != "h" {
				t.Fatalf("Body(%s) = %q %q; want %q", got[i].ID, h, p, want)
			}
		}
		shared := mustLease(t, sp, destB, "ev5-1")
		if _, p := readBody(t, sp, shared[0]); p != `{"shared":5}` {
			t.Fatalf("the shared body: %q", p)
		}
		for _, d := range append(got, shared...) { // the first of two sharing a body leaves it for the second
			if err := sp.Ack(d, Attempt{At: now, Status: 200}, nil); err != nil {
				t.Fatal(err)
			}
		}
		for _, id := range []string{"ev1-0", "ev5-0", "ev5-1"} {
			if _, err := sp.Get("prod", id); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Get(%s) after its ack: %v; want it gone", id, err)
			}
		}
	})
}

// First attempts are leased before retries; each destination's queue is
// its own.
func TestConformDueOrdering(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		sp, _ := be.open(t)
		now := time.Now()
		for i, ev := range []string{"e1", "e2", "e3"} {
			mustAppend(t, sp, batch(ev, "{}", now.Add(time.Duration(i)*time.Millisecond), destA))
		}
		mustAppend(t, sp, batch("b1", "{}", now, destB))
		got := mustLease(t, sp, destA, "e1-0", "e2-0", "e3-0")
		// e1 failed and is due again at once; e4 arrives after it.
		if err := sp.Reschedule(got[0], Attempt{At: now, Status: 503}, now); err != nil {
			t.Fatal(err)
		}
		for _, d := range got[1:] {
			if err := sp.Ack(d, Attempt{At: now, Status: 200}, nil); err != nil {
				t.Fatal(err)
			}
		}
		mustAppend(t, sp, batch("e4", "{}", time.Now(), destA))
		// Order holds among what is due when leased: JetStream's pullers
		// fetch deliveries within milliseconds of their write.
		time.Sleep(300 * time.Millisecond)
		again := mustLease(t, sp, destA, "e4-0", "e1-0")
		if again[1].Attempts != 1 || len(again[1].History) != 1 || again[1].History[0].Status != 503 {
			t.Fatalf("the retry: %d attempts, history %+v", again[1].Attempts, again[1].History)
		}
		// A's leases, held, do not stand in front of B.
		mustLease(t, sp, destB, "b1-0")
		noneDue(t, sp, destA)
	})
}

// A rescheduled delivery is due at its time, not before, with its
// attempt recorded.
func TestConformRetrySchedule(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		sp, _ := be.open(t)
		now := time.Now()
		mustAppend(t, sp, batch("late", "{}", now, destA))
		mustAppend(t, sp, batch("soon", "{}", now.Add(time.Millisecond), destA))
		got := mustLease(t, sp, destA, "late-0", "soon-0")
		dueLate, dueSoon := time.Now().Add(3500*time.Millisecond), time.Now().Add(1200*time.Millisecond)
		a := Attempt{At: now, Duration: 20 * time.Millisecond, Status: 503}
		if err := sp.Reschedule(got[0], a, dueLate); err != nil {
			t.Fatal(err)
		}
		if err := sp.Reschedule(got[1], Attempt{At: now, Error: "connection refused"}, dueSoon); err != nil {
			t.Fatal(err)
		}
		noneDue(t, sp, destA)
		d, err := sp.Get("prod", "late-0")
		if err != nil || d.Status != StatusPending || d.Attempts != 1 || !d.Due.Equal(dueLate) {
			t.Fatalf("Get(late-0) while waiting = %+v, %v", d, err)
		}
		leased, at := leaseWithin(t, sp, destA, 2, 8*time.Second)
		if !slices.Equal(ids(leased), []string{"soon-0", "late-0"}) {
			t.Fatalf("retries leased %v; want soon-0 then late-0", ids(leased))
		}
		for i, due := range []time.Time{dueSoon, dueLate} {
			if at[i].Before(due) || at[i].After(due.Add(2*time.Second)) {
				t.Errorf("%s leased %v after it was due; want within [0, 2s]", leased[i].ID, at[i].Sub(due))
			}
		}
		if h := leased[0].History; leased[0].Attempts != 1 || len(h) != 1 || h[0].Error != "connection refused" {
			t.Fatalf("soon-0: %d attempts, history %+v", leased[0].Attempts, h)
		}
		if h := leased[1].History; len(h) != 1 || h[0].Status != 503 || h[0].Duration != a.Duration {
			t.Fatalf("late-0: history %+v", h)
		}
	})
}

// Dead letters are listed and inspected by environment, and retried.
func TestConformDeadAndRetry(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		sp, _ := be.open(t)
		now := time.Now()
		mustAppend(t, sp, batch("d1", `{"d":1}`, now, destA))
		mustAppend(t, sp, batch("d2", `{"d":2}`, now.Add(time.Millisecond), destA))
		got := mustLease(t, sp, destA, "d1-0", "d2-0")
		if err := sp.Dead(got[0], Attempt{At: now, Status: 503}, StatusDead, "retry schedule exhausted"); err != nil {
			t.Fatal(err)
		}
		if err := sp.Dead(got[1], Attempt{At: now, Status: 410}, StatusGone, "the app answered 410 Gone"); err != nil {
			t.Fatal(err)
		}
		dead, err := sp.List("prod", StatusDead, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		byID := map[string]*Delivery{}
		for _, d := range dead {
			byID[d.ID] = d
		}
		if len(dead) != 2 || byID["d1-0"] == nil || byID["d1-0"].Status != StatusDead || byID["d2-0"].Status != StatusGone ||
			byID["d1-0"].Reason != "retry schedule exhausted" {
			t.Fatalf("List(dead) = %v", dead)
		}
		if page, err := sp.List("prod", StatusDead, "", 1); err != nil || len(page) != 1 {
			t.Fatalf("List(dead, limit 1) = %v, %v", ids(page), err)
		}
		if other, err := sp.List("other", StatusDead, "", 10); err != nil || len(other) != 0 {
			t.Fatalf("another environment's dead letters: %v, %v", ids(other), err)
		}
		d, err := sp.Get("prod", "d1-0")
		if err != nil || d.Status != StatusDead || d.Attempts != 1 || d.History[0].Status != 503 {
			t.Fatalf("Get(d1-0) = %+v, %v", d, err)
		}
		if _, err := sp.Get("other", "d1-0"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get from another environment: %v", err)
		}
		if _, err := sp.Redrive("other", "d1-0", now, now.Add(time.Hour)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Redrive from another environment: %v", err)
		}
		r, err := sp.Redrive("prod", "d1-0", time.Now(), time.Now().Add(time.Hour))
		if err != nil || r.Status != StatusPending || r.Base != 1 || r.Reason != "" {
			t.Fatalf("Redrive = %+v, %v", r, err)
		}
		if d, err := sp.Get("prod", "d1-0"); err != nil || d.Status != StatusPending {
			t.Fatalf("Get after Redrive = %+v, %v", d, err)
		}
		again := mustLease(t, sp, destA, "d1-0")
		if again[0].Attempts != 1 {
			t.Fatalf("the redriven delivery has %d attempts", again[0].Attempts)
		}
		if _, p := readBody(t, sp, again[0]); p != `{"d":1}` {
			t.Fatalf("the redriven delivery's body: %q", p)
		}
		if err := sp.Ack(again[0], Attempt{At: now, Status: 200}, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := sp.Redrive("prod", "d1-0", now, now.Add(time.Hour)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Redrive of a delivered delivery: %v", err)
		}
		// A replicated store's listing may lag its writes by milliseconds.
		listed := func(st Status, want ...string) func() bool {
			return func() bool {
				got, err := sp.List("prod", st, "", 10)
				return err == nil && slices.Equal(ids(got), want)
			}
		}
		eventually(t, 2*time.Second, "List(dead) is d2-0 after the retry", listed(StatusDead, "d2-0"))
		eventually(t, 2*time.Second, "List(pending) is empty", listed(StatusPending))
	})
}

// Across a restart: pending deliveries (one of them leased when the
// store closed) come back, dead letters and dedupe records stay.
func TestConformRestart(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		sp, reopen := be.open(t)
		now := time.Now()
		for i, ev := range []string{"r1", "r2", "r3"} {
			mustAppend(t, sp, batch(ev, `{"r":"`+ev+`"}`, now.Add(time.Duration(i)*time.Millisecond), destA))
		}
		mustAppend(t, sp, withDedupe(batch("r4", `{"r":"r4"}`, now.Add(3*time.Millisecond), destA), "github", "once", now, time.Hour))
		got := mustLease(t, sp, destA, "r1-0", "r2-0", "r3-0")
		if err := sp.Ack(got[0], Attempt{At: now, Status: 200}, nil); err != nil {
			t.Fatal(err)
		}
		if err := sp.Dead(got[2], Attempt{At: now, Status: 500}, StatusDead, "retry schedule exhausted"); err != nil {
			t.Fatal(err)
		}
		sp = reopen(sp) // r2-0 still leased
		back, _ := leaseWithin(t, sp, destA, 2, 10*time.Second)
		slices.SortFunc(back, func(a, b *Delivery) int { return strings.Compare(a.ID, b.ID) })
		if !slices.Equal(ids(back), []string{"r2-0", "r4-0"}) {
			t.Fatalf("after the restart Lease = %v; want r2-0 and r4-0", ids(back))
		}
		if _, p := readBody(t, sp, back[0]); p != `{"r":"r2"}` {
			t.Fatalf("r2-0's body after the restart: %q", p)
		}
		if d, err := sp.Get("prod", "r3-0"); err != nil || d.Status != StatusDead {
			t.Fatalf("the dead letter after the restart: %+v, %v", d, err)
		}
		res, err := sp.Append(withDedupe(batch("r5", "{}", now, destA), "github", "once", now, time.Hour))
		if err != nil || !res.Duplicate || res.FirstID != "r4" {
			t.Fatalf("the dedupe record after the restart: %+v, %v", res, err)
		}
	})
}

// A body larger than what travels in a record (or is kept in memory) is
// stored once for the deliveries sharing it, and read back whole.
func TestConformLargeBody(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		sp, _ := be.open(t)
		now := time.Now()
		big := bytes.Repeat([]byte("0123456789abcdef"), 40<<10) // 640 KiB
		b := &Batch{EventID: "big", Bodies: []BodyIn{{Header: []byte("hdr"), Payload: big}, {Header: []byte("hdr"), Payload: big[:300<<10]}}}
		b.Deliveries = []*Delivery{delivery("big-a", "big", destA, now), delivery("big-b", "big", destB, now), delivery("big-c", "big", destA, now.Add(time.Millisecond))}
		b.Deliveries[2].Part = 1
		mustAppend(t, sp, b)
		got := append(mustLease(t, sp, destA, "big-a", "big-c"), mustLease(t, sp, destB, "big-b")...)
		for _, d := range got {
			want := big
			if d.Part == 1 {
				want = big[:300<<10]
			}
			if h, p := readBody(t, sp, d); h != "hdr" || p != string(want) {
				t.Fatalf("Body(%s): %d bytes, header %q; want %d", d.ID, len(p), h, len(want))
			}
			if err := sp.Ack(d, Attempt{At: now, Status: 200}, nil); err != nil {
				t.Fatal(err)
			}
		}
	})
}
