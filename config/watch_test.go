package config

import (
	"reflect"
	"testing"
	"time"
)

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
	// Break the watch and hold the resync while the world changes.
	hold, release := make(chan struct{}), make(chan struct{})
	c.beforeResync = func() {
		select {
		case <-hold:
		default:
			close(hold)
			<-release
		}
	}
	old, err := f.cli.Get(ctx, "x")
	if err != nil {
		t.Fatal(err)
	}
	resyncs := c.resyncs.Load()
	c.breakWatch()
	<-hold
	if c.Ready() {
		t.Fatal("Ready while the watch is broken")
	}
	f.putConn("c2", `{"config":{"team_id":"T1"}}`)
	f.putConn("c1", `{"config":{"team_id":"T9"}}`)
	// Not ready: lookups bypass the cache and see etcd.
	if got := lookupIDs(t, c, "team_id", "T1"); !reflect.DeepEqual(got, []string{"c2"}) {
		t.Fatalf("while resyncing: %q", got)
	}
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
	close(release)
	eventually(t, 5*time.Second, "ready again", c.Ready)
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
