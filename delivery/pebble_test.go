package delivery

import (
	"testing"
	"time"
)

func openTestSpool(t *testing.T, dir string) Spool {
	t.Helper()
	sp, err := OpenPebble(dir, nil, testLog)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

func pendingRecord(id, dest string, due time.Time, attempts int) *Record {
	return &Record{ID: id, EventID: "e-" + id, Env: "prod", URL: dest + "/h", Dest: dest,
		Created: due, Due: due, Attempts: attempts, Body: []byte(`{"id":"` + id + `"}`)}
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
	none := func(string) bool { return false }
	got, next, err := sp.Due(a, t0, 10, none)
	if err != nil {
		t.Fatal(err)
	}
	// First attempts before retries, each by due time; the future one waits.
	if g := ids(got); len(g) != 3 || g[0] != "f-1" || g[1] != "f-2" || g[2] != "r-late" {
		t.Fatalf("Due = %q", g)
	}
	if !next.Equal(t0.Add(time.Hour)) {
		t.Fatalf("next = %v", next)
	}
	got, next, _ = sp.Due(a, t0, 1, func(id string) bool { return id == "f-1" })
	if g := ids(got); len(g) != 1 || g[0] != "f-2" || !next.Equal(t0) {
		t.Fatalf("Due with f-1 held, max 1 = %q next %v", g, next)
	}
	body, err := sp.Body("f-2")
	if err != nil || string(body) != `{"id":"f-2"}` {
		t.Fatalf("Body = %s, %v", body, err)
	}
}

func TestSpoolUpdateCompleteList(t *testing.T) {
	dir := t.TempDir()
	sp := openTestSpool(t, dir)
	t0 := time.Unix(1_800_000_000, 0)
	r := pendingRecord("x", "http://a:80", t0, 0)
	sp.Append(nil, []*Record{r, pendingRecord("y", "http://a:80", t0, 0)})
	loaded, _ := sp.Get("x")
	dead := *loaded
	dead.Status, dead.Attempts = StatusDead, 3
	if err := sp.Update(loaded, &dead); err != nil {
		t.Fatal(err)
	}
	if sp.Pending() != 1 {
		t.Fatalf("Pending after dead-lettering = %d", sp.Pending())
	}
	if got, _, _ := sp.Due("http://a:80", t0, 10, func(string) bool { return false }); len(got) != 1 || got[0].ID != "y" {
		t.Fatalf("a dead letter is still due: %q", ids(got))
	}
	if l, _ := sp.List("prod", true, 10); len(l) != 1 || l[0].ID != "x" || l[0].Attempts != 3 {
		t.Fatalf("dead list %q", ids(l))
	}
	if l, _ := sp.List("prod", false, 10); len(l) != 1 || l[0].ID != "y" {
		t.Fatalf("pending list %q", ids(l))
	}
	if l, _ := sp.List("other", true, 10); len(l) != 0 {
		t.Fatalf("another environment's list %q", ids(l))
	}
	y, _ := sp.Get("y")
	if err := sp.Complete(y); err != nil {
		t.Fatal(err)
	}
	if _, err := sp.Body("y"); err != ErrNotFound {
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
	if _, err := sp.Get("b"); err != ErrNotFound {
		t.Fatal("a duplicate's delivery was stored")
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
