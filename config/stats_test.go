package config

import (
	"testing"
	"time"
)

func TestCacheStats(t *testing.T) {
	f := newFixture(t)
	f.seed()
	c := f.newCache(CacheOptions{})
	ctx := ctxT(t)
	if _, err := c.Environment(ctx, []byte("prod")); err != nil {
		t.Fatal(err)
	}
	if s := c.Stats(); s.Misses < 1 || s.Hits != 0 || s.Resyncs != 0 {
		t.Fatalf("after one lookup: %+v", s)
	}
	eventually(t, 5*time.Second, "a cache hit", func() bool {
		c.Environment(ctx, []byte("prod"))
		return c.Stats().Hits > 0
	})
	c.breakWatch()
	eventually(t, 5*time.Second, "a resync counted", func() bool { return c.Stats().Resyncs >= 1 })
}
