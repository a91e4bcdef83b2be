package config

import (
	"context"
	"errors"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"
)

var (
	bEnv   = []byte("prod")
	bInteg = []byte("gh")
)

func lookupIDs(t testing.TB, c *Cache, field, value string) []string {
	t.Helper()
	cs, err := c.Lookup(ctxT(t), bEnv, bInteg, field, []byte(value), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := ids(cs)
	sort.Strings(got)
	return got
}

func TestCacheNumberMatchesString(t *testing.T) {
	f := newFixture(t)
	f.seed()
	f.putConn("num", `{"config":{"installation_id":1001}}`)
	f.putConn("str", `{"config":{"installation_id":"1001"}}`)
	f.putConn("near", `{"config":{"installation_id":10010,"x":"1001"}}`)
	c := f.newCache(CacheOptions{})
	for range 2 { // miss, then hit
		if got := lookupIDs(t, c, "installation_id", "1001"); !reflect.DeepEqual(got, []string{"num", "str"}) {
			t.Fatalf("Lookup(1001) = %q", got)
		}
		c.rc.Wait()
	}
	if got := lookupIDs(t, c, "installation_id", "100"); len(got) != 0 {
		t.Fatalf("Lookup(100) = %q, want none", got)
	}
	// Duplicates already in dst are not appended again.
	cs, _ := c.Lookup(ctxT(t), bEnv, bInteg, "installation_id", []byte("1001"), nil)
	cs, _ = c.Lookup(ctxT(t), bEnv, bInteg, "x", []byte("1001"), cs)
	cs, _ = c.Lookup(ctxT(t), bEnv, bInteg, "installation_id", []byte("1001"), cs)
	if len(cs) != 3 {
		t.Fatalf("Lookup chain = %q, want 3 distinct", ids(cs))
	}
}

func TestCacheSeesChangesFromAnotherInstance(t *testing.T) {
	f := newFixture(t)
	f.seed()
	a := f.newCache(CacheOptions{})
	b := f.newCache(CacheOptions{})
	ctx := ctxT(t)
	// Negative entries, cached on both.
	for _, c := range []*Cache{a, b} {
		if got := lookupIDs(t, c, "team_id", "T1"); len(got) != 0 {
			t.Fatalf("before: %q", got)
		}
		if _, err := c.Connection(ctx, bEnv, bInteg, []byte("c1")); !errors.Is(err, ErrNotFound) {
			t.Fatalf("before: Connection = %v", err)
		}
		if _, err := c.Integration(ctx, bEnv, []byte("slack")); !errors.Is(err, ErrNotFound) {
			t.Fatalf("before: Integration = %v", err)
		}
		c.rc.Wait()
	}
	f.putConn("c1", `{"config":{"team_id":"T1"}}`)
	if _, err := f.store.PutIntegration(ctx, "prod", "slack", []byte(`{"provider":"fake"}`)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*Cache{a, b} {
		eventually(t, time.Second, "negative lookup turns positive", func() bool {
			return reflect.DeepEqual(lookupIDs(t, c, "team_id", "T1"), []string{"c1"})
		})
		eventually(t, time.Second, "negative integration turns positive", func() bool {
			_, err := c.Integration(ctx, bEnv, []byte("slack"))
			return err == nil
		})
		c.rc.Wait()
	}
	// Update: the routing value moves, the override changes.
	f.putConn("c1", `{"config":{"team_id":"T2"},"webhook_url_override":"https://o.example/h"}`)
	eventually(t, time.Second, "update visible", func() bool {
		cs, _ := b.Lookup(ctx, bEnv, bInteg, "team_id", []byte("T2"), nil)
		return len(cs) == 1 && cs[0].URLOverride == "https://o.example/h" &&
			len(lookupIDs(t, b, "team_id", "T1")) == 0
	})
	if err := f.store.DeleteConnection(ctx, "prod", "gh", "c1"); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "delete visible", func() bool {
		_, err := b.Connection(ctx, bEnv, bInteg, []byte("c1"))
		return errors.Is(err, ErrNotFound) && len(lookupIDs(t, b, "team_id", "T2")) == 0
	})
	// Environment changes too.
	if _, err := f.store.PutEnvironment(ctx, "prod", []byte(`{"unmatched":"drop"}`)); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "environment update visible", func() bool {
		e, err := a.Environment(ctx, bEnv)
		return err == nil && e.DropUnmatched && len(e.URLs) == 0
	})
}

func TestCacheKeepsLastGoodIntegration(t *testing.T) {
	f := newFixture(t)
	f.seed()
	c := f.newCache(CacheOptions{})
	ctx := ctxT(t)
	good, err := c.Integration(ctx, bEnv, bInteg)
	if err != nil {
		t.Fatal(err)
	}
	// A bad value written around the Store (the Store would refuse it).
	resp, err := f.cli.Put(ctx, integKey(f.prefix, "prod", "gh"), `{"provider":"nope"}`)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "watch applies the change", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.applied >= resp.Header.Revision
	})
	got, err := c.Integration(ctx, bEnv, bInteg)
	if err != nil || got != good {
		t.Fatalf("after a bad update: %p, %v; want the last good %p", got, err, good)
	}
	// A cache that never saw a good value reports it as unusable.
	fresh := f.newCache(CacheOptions{})
	_, err = fresh.Integration(ctx, bEnv, bInteg)
	if !errors.Is(err, ErrUnusable) || errors.Is(err, ErrNotFound) {
		t.Fatalf("fresh cache: %v, want ErrUnusable", err)
	}
}

func TestCacheCoalescesMisses(t *testing.T) {
	f := newFixture(t)
	f.seed()
	c := f.newCache(CacheOptions{})
	release := make(chan struct{})
	c.fetchHook = func() { <-release }
	before := f.fake.provisions.Load()
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Integration(context.Background(), bEnv, bInteg)
			errs <- err
		}()
	}
	time.Sleep(300 * time.Millisecond)
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := c.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches for 32 concurrent misses, want 1", n)
	}
	if n := f.fake.provisions.Load() - before; n != 1 {
		t.Fatalf("%d provisions, want 1", n)
	}
}

func TestCacheNeverInstallsStale(t *testing.T) {
	f := newFixture(t)
	f.seed()
	f.putConn("c1", `{"webhook_url_override":"https://old.example/"}`)
	c := f.newCache(CacheOptions{})
	ctx := ctxT(t)
	fetched, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	c.fetchHook = func() { once.Do(func() { close(fetched); <-release }) }
	done := make(chan *Conn)
	go func() {
		conn, _ := c.Connection(context.Background(), bEnv, bInteg, []byte("c1"))
		done <- conn
	}()
	<-fetched // the old value was read; hold it before installing
	resp, err := f.cli.Put(ctx, connKey(f.prefix, "prod", "gh", "c1"), `{"webhook_url_override":"https://new.example/"}`)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "watch applies the change", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.applied >= resp.Header.Revision
	})
	close(release)
	if old := <-done; old == nil || old.URLOverride != "https://old.example/" {
		t.Fatalf("in-flight read = %+v", old)
	}
	c.rc.Wait()
	conn, err := c.Connection(ctx, bEnv, bInteg, []byte("c1"))
	if err != nil || conn.URLOverride != "https://new.example/" {
		t.Fatalf("after the change: %+v, %v (stale value installed)", conn, err)
	}
}

func TestCacheInvalidNamesAreNotFound(t *testing.T) {
	f := newFixture(t)
	f.seed()
	c := f.newCache(CacheOptions{})
	ctx := ctxT(t)
	if _, err := c.Environment(ctx, []byte("prod/integrations/gh")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Environment(path) = %v", err)
	}
	if _, err := c.Integration(ctx, bEnv, []byte("")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Integration(empty) = %v", err)
	}
	if cs, err := c.Lookup(ctx, []byte("../x"), bInteg, "f", []byte("v"), nil); err != nil || len(cs) != 0 {
		t.Fatalf("Lookup(bad env) = %v, %v", cs, err)
	}
}

// A connection whose stored value is unusable is an error of the lookup
// that matches it, not a silent miss (the event would be unmatched and,
// under unmatched "drop", lost).
func TestCacheUnusableConnectionIsAnError(t *testing.T) {
	f := newFixture(t)
	f.seed()
	f.putConn("c1", `{"config":{"team_id":"T1"}}`)
	if _, err := f.cli.Put(ctxT(t), connKey(f.prefix, "prod", "gh", "c1"), `{"config":{"team_id":"T1"},"bogus":1}`); err != nil {
		t.Fatal(err)
	}
	c := f.newCache(CacheOptions{})
	_, err := c.Lookup(ctxT(t), bEnv, bInteg, "team_id", []byte("T1"), nil)
	if !errors.Is(err, ErrUnusable) {
		t.Fatalf("Lookup = %v, want ErrUnusable", err)
	}
	if _, err := c.Connection(ctxT(t), bEnv, bInteg, []byte("c1")); !errors.Is(err, ErrUnusable) {
		t.Fatalf("Connection = %v, want ErrUnusable", err)
	}
}
