package spool

import (
	"strconv"
	"testing"
	"time"
)

func TestDedupeFilter(t *testing.T) {
	f := newDedupeFilter()
	key := func(i int) []byte { return []byte("env/integ/delivery-" + strconv.Itoa(i)) }
	f.add(key(0), 100)
	if !f.mayContain(key(1)) {
		t.Fatal("a filter not ready answered no")
	}
	f.ready.Store(true)
	const n = genKeys + genKeys/2 // spans two generations
	for i := range n {
		f.add(key(i), int64(100+i/genKeys)) // second generation expires later
	}
	if len(f.gens) != 2 {
		t.Fatalf("%d generations, want 2", len(f.gens))
	}
	for i := range n {
		if !f.mayContain(key(i)) {
			t.Fatalf("false negative for key %d", i)
		}
	}
	fp := 0
	for i := n; i < n+100_000; i++ {
		if f.mayContain(key(i)) {
			fp++
		}
	}
	if rate := float64(fp) / 100_000; rate > 0.03 {
		t.Fatalf("false positive rate %.3f", rate)
	}
	f.expire(100) // the first generation's keys expired at 100; the second's did not
	if len(f.gens) != 1 || !f.mayContain(key(n-1)) {
		t.Fatalf("after expiry: %d generations", len(f.gens))
	}
}

// A dedupe record written before a restart is still a duplicate after it:
// the filter loads the live records from disk before it answers no.
func TestSpoolDedupeAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	sp := openTestSpool(t, dir)
	now := time.Now()
	d := &Dedupe{Env: "prod", Integration: "github", Key: "gh-1", EventID: "ev-1", Now: now, Expires: now.Add(time.Hour)}
	b := batch("ev-1", "{}", now, "http://a:80")
	b.Dedupe = d
	mustAppend(t, sp, b)
	sp.Close()
	sp = openTestSpool(t, dir)
	f := sp.(*reopener).cur.Load().filter
	eventually(t, 5*time.Second, "filter loaded", f.ready.Load)
	if !f.mayContain(dedupeSuffix(d)) {
		t.Fatal("the loaded filter misses a live record")
	}
	d2 := *d
	d2.EventID = "ev-2"
	if res, err := sp.Append(&Batch{EventID: "ev-2", Dedupe: &d2}); err != nil || !res.Duplicate || res.FirstID != "ev-1" {
		t.Fatalf("after reopen: %+v %v", res, err)
	}
	// An expired record, loaded or not, is no duplicate.
	old := &Dedupe{Env: "prod", Integration: "github", Key: "gh-old", EventID: "ev-0", Now: now.Add(-2 * time.Hour), Expires: now.Add(-time.Hour)}
	if _, err := sp.Append(&Batch{EventID: "ev-0", Dedupe: old}); err != nil {
		t.Fatal(err)
	}
	sp.Close()
	sp = openTestSpool(t, dir)
	defer sp.Close()
	f = sp.(*reopener).cur.Load().filter
	eventually(t, 5*time.Second, "filter loaded", f.ready.Load)
	again := *old
	again.EventID, again.Now, again.Expires = "ev-00", now, now.Add(time.Hour)
	if res, err := sp.Append(&Batch{EventID: "ev-00", Dedupe: &again}); err != nil || res.Duplicate {
		t.Fatalf("an expired record made a duplicate: %+v %v", res, err)
	}
}

func BenchmarkDedupeFilterMiss(b *testing.B) {
	f := newDedupeFilter()
	f.ready.Store(true)
	for i := range genKeys {
		f.add([]byte("k-"+strconv.Itoa(i)), 1)
	}
	k := []byte("prod/github/not-there-1234567890")
	b.ReportAllocs()
	for range b.N {
		if f.mayContain(k) {
			b.Fatal("false positive on the benchmark key")
		}
	}
}
