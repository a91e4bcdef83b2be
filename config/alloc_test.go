package config

import (
	"context"
	"testing"
)

// warmHit loads an integration and a two-connection lookup into c and waits
// until both are cached.
func warmHit(tb testing.TB, f *fixture, c *Cache) {
	tb.Helper()
	f.putConn("a", `{"config":{"installation_id":1001}}`)
	f.putConn("b", `{"config":{"installation_id":"1001"}}`)
	eventually(tb, 5e9, "entries cached", func() bool {
		n := c.fetches.Load()
		hitOnce(tb, c, nil)
		c.rc.Wait()
		return c.fetches.Load() == n
	})
}

var hitValue = []byte("1001")

func hitOnce(tb testing.TB, c *Cache, dst []*Conn) []*Conn {
	ctx := context.Background()
	if _, err := c.Integration(ctx, bEnv, bInteg); err != nil {
		tb.Fatal(err)
	}
	dst, err := c.Lookup(ctx, bEnv, bInteg, "installation_id", hitValue, dst[:0])
	if err != nil || len(dst) != 2 {
		tb.Fatalf("Lookup = %d conns, %v", len(dst), err)
	}
	return dst
}

func TestCacheHitDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	f := newFixture(t)
	f.seed()
	c := f.newCache(CacheOptions{})
	warmHit(t, f, c)
	dst := make([]*Conn, 0, 4)
	before := c.fetches.Load()
	if n := testing.AllocsPerRun(1000, func() { dst = hitOnce(t, c, dst) }); n != 0 {
		t.Fatalf("Integration+Lookup hit allocates %v times", n)
	}
	if c.fetches.Load() != before {
		t.Fatal("the measured calls were not all hits")
	}
}

func BenchmarkLookupHit(b *testing.B) {
	f := newFixture(b)
	f.seed()
	c := f.newCache(CacheOptions{})
	warmHit(b, f, c)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		dst := make([]*Conn, 0, 4)
		for pb.Next() {
			dst = hitOnce(b, c, dst)
		}
	})
}

// BenchmarkConnectionLookupHit is one cached connection lookup, as the
// ingress makes per routing key: the routing index entry for a config
// value, then the connection it names. Serial, so ns/op is its latency.
func BenchmarkConnectionLookupHit(b *testing.B) {
	f := newFixture(b)
	f.seed()
	c := f.newCache(CacheOptions{})
	f.putConn("single", `{"config":{"installation_id":3003}}`)
	ctx := context.Background()
	value := []byte("3003")
	eventually(b, 5e9, "lookup cached", func() bool {
		n := c.fetches.Load()
		if dst, err := c.Lookup(ctx, bEnv, bInteg, "installation_id", value, nil); err != nil || len(dst) != 1 {
			b.Fatal(len(dst), err)
		}
		c.rc.Wait()
		return c.fetches.Load() == n
	})
	dst := make([]*Conn, 0, 4)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		var err error
		if dst, err = c.Lookup(ctx, bEnv, bInteg, "installation_id", value, dst[:0]); err != nil || len(dst) != 1 {
			b.Fatal(len(dst), err)
		}
	}
}
