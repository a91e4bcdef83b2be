package delivery

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func openTestSpool(t *testing.T, dir string) Spool {
	t.Helper()
	sp, err := OpenPebble(dir, testLog)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

func pendingRecord(id, dest string, due time.Time, attempts int) *Record {
	return &Record{ID: id, EventID: "e-" + id, Env: "prod", URL: dest + "/h", Dest: dest,
		Created: due, Due: due, Attempts: attempts, Body: []byte(`{"id":"` + id + `"}`)}
}

// find returns the record with id in recs, failing the test without one.
func find(t *testing.T, recs []*Record, id string) *Record {
	t.Helper()
	for _, r := range recs {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("%s not in %q", id, ids(recs))
	return nil
}

func ids(recs []*Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.ID)
	}
	return out
}

func TestSpoolDueOrder(t *testing.T) {
	sp := openTestSpool(t, t.TempDir())
	defer sp.Close()
	t0 := time.Unix(1_800_000_000, 0)
	const a, b = "http://a:80", "http://b:80"
	recs := []*Record{
		pendingRecord("r-late", a, t0.Add(-time.Second), 2), // a retry, due
		pendingRecord("f-2", a, t0, 0),
		pendingRecord("f-1", a, t0.Add(-time.Minute), 0),
		pendingRecord("future", a, t0.Add(time.Hour), 1),
		pendingRecord("other", b, t0, 0),
	}
	if _, dup, err := sp.Append(nil, recs); err != nil || dup {
		t.Fatal(dup, err)
	}
	if sp.Pending() != 5 {
		t.Fatalf("Pending = %d", sp.Pending())
	}
	dests, _ := sp.Destinations()
	if len(dests) != 2 || dests[0] != a || dests[1] != b {
		t.Fatalf("Destinations = %q", dests)
	}
	// The caller holds what Due returned until it is finished, as the
	// Service does.
	held := map[string]bool{}
	due := func(max int) ([]*Record, time.Time) {
		t.Helper()
		got, next, err := sp.Due(a, t0, max, func(id string) bool { return held[id] })
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range got {
			if held[r.ID] {
				t.Fatalf("%s returned while held", r.ID)
			}
			held[r.ID] = true
		}
		return got, next
	}
	got, next := due(10)
	first := got
	// First attempts before retries, each by due time; the future one waits.
	if g := ids(got); len(g) != 3 || g[0] != "f-1" || g[1] != "f-2" || g[2] != "r-late" {
		t.Fatalf("Due = %q", g)
	}
	if !next.Equal(t0.Add(time.Hour)) {
		t.Fatalf("next = %v", next)
	}
	// A delivery is returned once, even when the caller does not say so.
	if got, _, _ := sp.Due(a, t0, 10, func(string) bool { return false }); len(got) != 0 {
		t.Fatalf("Due again = %q", ids(got))
	}
	// A key inserted below the scan position, and one moved by Update, are
	// due again.
	early := pendingRecord("f-0", a, t0.Add(-time.Hour), 0)
	if _, _, err := sp.Append(nil, []*Record{early}); err != nil {
		t.Fatal(err)
	}
	r := find(t, first, "r-late")
	moved := *r
	moved.Attempts, moved.Due = 3, t0.Add(-2*time.Second)
	if err := sp.Update(r, &moved); err != nil {
		t.Fatal(err)
	}
	delete(held, "r-late") // its attempt finished: it was moved
	got, next = due(1)
	if g := ids(got); len(g) != 1 || g[0] != "f-0" || !next.Equal(t0) {
		t.Fatalf("Due max 1 = %q next %v; want f-0 and next = now", g, next)
	}
	got, _ = due(10)
	if g := ids(got); len(g) != 1 || g[0] != "r-late" || got[0].Attempts != 3 {
		t.Fatalf("moved delivery: %q", g)
	}
	// Bodies come with the records, and Body reads them too.
	f2 := find(t, first, "f-2")
	body, err := sp.Body(f2)
	if err != nil || string(body) != `{"id":"f-2"}` || string(f2.Body) != string(body) {
		t.Fatalf("Body = %s, %v; with the record %s", body, err, f2.Body)
	}
	if got[0].Body == nil || string(got[0].Body) != `{"id":"r-late"}` {
		t.Fatalf("a moved delivery lost its body: %q", got[0].Body)
	}
}

func TestSpoolUpdateCompleteList(t *testing.T) {
	dir := t.TempDir()
	sp := openTestSpool(t, dir)
	t0 := time.Unix(1_800_000_000, 0)
	const a = "http://a:80"
	sp.Append(nil, []*Record{pendingRecord("x", a, t0, 0), pendingRecord("y", a, t0, 0)})
	loaded, _, _ := sp.Due(a, t0, 10, func(string) bool { return false })
	x, y := find(t, loaded, "x"), find(t, loaded, "y")
	dead := *x
	dead.Status, dead.Attempts, dead.Body = StatusDead, 3, nil // nil: keep the stored body
	if err := sp.Update(x, &dead); err != nil {
		t.Fatal(err)
	}
	if sp.Pending() != 1 {
		t.Fatalf("Pending after dead-lettering = %d", sp.Pending())
	}
	if l, _ := sp.List("prod", true, 10); len(l) != 1 || l[0].ID != "x" || l[0].Attempts != 3 || l[0].Body != nil {
		t.Fatalf("dead list %q", ids(l))
	}
	if l, _ := sp.List("prod", false, 10); len(l) != 1 || l[0].ID != "y" || !l[0].Due.Equal(t0) {
		t.Fatalf("pending list %q", ids(l))
	}
	if l, _ := sp.List("other", true, 10); len(l) != 0 {
		t.Fatalf("another environment's list %q", ids(l))
	}
	d, err := sp.Dead("prod", "x")
	if err != nil || d.Attempts != 3 || string(d.Body) != `{"id":"x"}` {
		t.Fatalf("Dead = %+v, %v", d, err)
	}
	for _, k := range [][2]string{{"other", "x"}, {"prod", "y"}, {"prod", "nope"}} {
		if _, err := sp.Dead(k[0], k[1]); err != ErrNotFound {
			t.Fatalf("Dead(%q, %q): %v", k[0], k[1], err)
		}
	}
	// A dead letter made pending again is due again, with its body.
	again := *d
	again.Status, again.Base, again.Due = StatusPending, 3, t0
	if err := sp.Update(d, &again); err != nil {
		t.Fatal(err)
	}
	got, _, _ := sp.Due(a, t0, 10, func(string) bool { return false })
	if len(got) != 1 || got[0].ID != "x" || string(got[0].Body) != `{"id":"x"}` {
		t.Fatalf("retried dead letter: %q", ids(got))
	}
	for _, r := range []*Record{y, got[0]} {
		if err := sp.Complete(r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sp.Body(y); err != ErrNotFound {
		t.Fatalf("body of a completed delivery: %v", err)
	}
	sp.Close()
	sp = openTestSpool(t, dir) // the pending count is rebuilt on open
	defer sp.Close()
	if sp.Pending() != 0 {
		t.Fatalf("Pending after reopen = %d", sp.Pending())
	}
}

func TestSpoolDedupe(t *testing.T) {
	sp := openTestSpool(t, t.TempDir())
	defer sp.Close()
	t0 := time.Unix(1_800_000_000, 0)
	d := &Dedupe{Env: "prod", Integration: "github", Key: "k1", EventID: "ev-1", Now: t0, Expires: t0.Add(time.Hour)}
	if _, dup, _ := sp.Append(d, []*Record{pendingRecord("a", "http://a:80", t0, 0)}); dup {
		t.Fatal("first is a duplicate")
	}
	d2 := *d
	d2.EventID, d2.Now = "ev-2", t0.Add(time.Minute)
	first, dup, err := sp.Append(&d2, []*Record{pendingRecord("b", "http://a:80", t0, 0)})
	if err != nil || !dup || first != "ev-1" {
		t.Fatalf("duplicate: %q %v %v", first, dup, err)
	}
	if l, _ := sp.List("prod", false, 10); len(l) != 1 {
		t.Fatalf("a duplicate's delivery was stored: %q", ids(l))
	}
	// Another integration's identical key is not a duplicate.
	d3 := d2
	d3.Integration = "github-2"
	if _, dup, _ := sp.Append(&d3, nil); dup {
		t.Fatal("dedupe crosses integrations")
	}
	if n, err := sp.ExpireDedupe(t0.Add(2*time.Hour), 100); err != nil || n != 2 {
		t.Fatalf("ExpireDedupe = %d, %v", n, err)
	}
	d4 := *d
	d4.Now = t0.Add(2 * time.Hour)
	if _, dup, _ := sp.Append(&d4, nil); dup {
		t.Fatal("an expired key is still a duplicate")
	}
}

// Writers append deliveries (some due before the scan position) while one
// scanner takes what is due and completes it: every delivery is returned
// exactly once, none is missed by the scan cursors.
func TestSpoolDueConcurrentAppends(t *testing.T) {
	sp := openTestSpool(t, t.TempDir())
	defer sp.Close()
	const writers, each = 4, 300
	const dest = "http://a:80"
	base := time.Now()
	// Deliveries due later in both classes keep the queue from emptying, so
	// the scan cursors persist between scans.
	later := []*Record{pendingRecord("later-0", dest, base.Add(time.Hour), 0), pendingRecord("later-1", dest, base.Add(time.Hour), 1)}
	if _, _, err := sp.Append(nil, later); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				// Due times jump around within the past second.
				due := base.Add(-time.Duration((i*7919+w*104729)%1000) * time.Millisecond)
				r := pendingRecord(fmt.Sprintf("w%d-%d", w, i), dest, due, i%2)
				if _, _, err := sp.Append(nil, []*Record{r}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	seen := map[string]int{}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	scan := func() {
		got, _, err := sp.Due(dest, time.Now(), 17, func(string) bool { return false })
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range got {
			seen[r.ID]++
			if err := sp.Complete(r); err != nil {
				t.Fatal(err)
			}
		}
	}
	for {
		select {
		case <-done:
			for range 100 {
				scan()
			}
			if len(seen) != writers*each {
				t.Fatalf("returned %d distinct deliveries of %d", len(seen), writers*each)
			}
			for id, n := range seen {
				if n != 1 {
					t.Fatalf("%s returned %d times", id, n)
				}
			}
			return
		default:
			scan()
		}
	}
}
