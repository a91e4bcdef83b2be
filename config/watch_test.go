package config

import (
	"reflect"
	"sync"
	"testing"
	"time"
)

// holdResume makes the cache's next resumption of its watch wait until
// the returned release is called; held is closed once it waits.
func holdResume(t *testing.T, c *Cache) (held <-chan struct{}, release func()) {
	h, r := make(chan struct{}), make(chan struct{})
	var once sync.Once
	c.beforeResync = func() {
		once.Do(func() {
			close(h)
			<-r
		})
	}
	var rel sync.Once
	release = func() { rel.Do(func() { close(r) }) }
	t.Cleanup(release)
	return h, release
}

// A broken watch keeps the cached entries serving as the last known good
// values; once it resumes from its revision, the changes made meanwhile
// are in force, and entries nothing changed were not dropped.
func TestCacheServesCachedWhileWatchBroken(t *testing.T) {
	f := newFixture(t)
	f.seed()
	f.putConn("c1", `{"config":{"team_id":"T1"}}`)
	f.putConn("c5", `{"config":{"team_id":"T5"}}`)
	c := f.newCache(CacheOptions{})
	for _, v := range []string{"T1", "T5"} {
		lookupIDs(t, c, "team_id", v)
	}
	c.rc.Wait()
	held, release := holdResume(t, c)
	c.breakWatch()
	<-held
	if st := c.Status(); st.InForce || !st.Serving || st.StaleSince.IsZero() || !c.Ready() {
		t.Fatalf("while the watch is broken: %+v, Ready %v; want serving cached entries", st, c.Ready())
	}
	f.putConn("c2", `{"config":{"team_id":"T1"}}`)
	f.putConn("c1", `{"config":{"team_id":"T9"}}`)
	if got := lookupIDs(t, c, "team_id", "T1"); !reflect.DeepEqual(got, []string{"c1"}) {
		t.Fatalf("while broken: %q, want the last known good [c1]", got)
	}
	fetches := c.fetches.Load()
	release()
	eventually(t, 5*time.Second, "in force again", func() bool { return c.Status().InForce })
	eventually(t, time.Second, "the changes made meanwhile", func() bool {
		return reflect.DeepEqual(lookupIDs(t, c, "team_id", "T1"), []string{"c2"})
	})
	before := c.fetches.Load()
	if got := lookupIDs(t, c, "team_id", "T5"); !reflect.DeepEqual(got, []string{"c5"}) {
		t.Fatalf("T5: %q", got)
	}
	if c.fetches.Load() != before {
		t.Fatal("an entry nothing changed was dropped by the resumption")
	}
	if before == fetches {
		t.Fatal("the changed entry was not read again")
	}
}

// Cached entries stop serving StaleMax after the watch broke.
func TestCacheStaleEntriesExpire(t *testing.T) {
	f := newFixture(t)
	f.seed()
	f.putConn("c1", `{"config":{"team_id":"T1"}}`)
	c := f.newCache(CacheOptions{StaleMax: 200 * time.Millisecond})
	lookupIDs(t, c, "team_id", "T1")
	c.rc.Wait()
	held, _ := holdResume(t, c)
	c.breakWatch()
	<-held
	f.putConn("c1", `{"config":{"team_id":"T9"}}`)
	eventually(t, 2*time.Second, "stale entries expire", func() bool { return !c.Ready() })
	if got := lookupIDs(t, c, "team_id", "T1"); len(got) != 0 {
		t.Fatalf("after expiry: %q, want etcd's answer (none)", got)
	}
}

// A watch that cannot resume because etcd compacted its revision
// resynchronises: the cache is cleared once the new watch is in force,
// and nothing changed during the gap stays in force.
func TestCacheResyncsAfterCompaction(t *testing.T) {
	f := newFixture(t)
	f.seed()
	f.putConn("c1", `{"config":{"team_id":"T1"}}`)
	c := f.newCache(CacheOptions{})
	ctx := ctxT(t)
	if got := lookupIDs(t, c, "team_id", "T1"); !reflect.DeepEqual(got, []string{"c1"}) {
		t.Fatalf("warm: %q", got)
	}
	c.rc.Wait()
	held, release := holdResume(t, c)
	old, err := f.cli.Get(ctx, "x")
	if err != nil {
		t.Fatal(err)
	}
	resyncs := c.resyncs.Load()
	c.breakWatch()
	<-held
	f.putConn("c2", `{"config":{"team_id":"T1"}}`)
	f.putConn("c1", `{"config":{"team_id":"T9"}}`)
	cur, err := f.cli.Get(ctx, "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.cli.Compact(ctx, cur.Header.Revision); err != nil {
		t.Fatal(err)
	}
	// The next watch resumes from a compacted revision, as a client that
	// reconnects after a long partition would.
	c.nextFrom.Store(old.Header.Revision + 1)
	release()
	eventually(t, 5*time.Second, "in force again", func() bool { return c.Status().InForce })
	if n := c.resyncs.Load() - resyncs; n < 2 {
		t.Fatalf("%d resyncs, want the compacted watch to cause a second one", n)
	}
	if got := lookupIDs(t, c, "team_id", "T1"); !reflect.DeepEqual(got, []string{"c2"}) {
		t.Fatalf("after resync: %q", got)
	}
	c.rc.Wait()
	f.putConn("c3", `{"config":{"team_id":"T1"}}`)
	eventually(t, time.Second, "changes after the resync", func() bool {
		return reflect.DeepEqual(lookupIDs(t, c, "team_id", "T1"), []string{"c2", "c3"})
	})
}
