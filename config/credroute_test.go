package config

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
)

// credFields makes the fake provider's "token" field a credential.
func credFields(string) []string { return []string{"token"} }

// countingClient is a client of the shared etcd that counts its range
// reads.
func countingClient(t testing.TB) (*clientv3.Client, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	count := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if strings.HasSuffix(method, "/Range") {
			n.Add(1)
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints: testEndpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop(),
		DialOptions: []grpc.DialOption{grpc.WithChainUnaryInterceptor(count)},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli, &n
}

// A credential routing value is indexed by its keyed hash, never in
// clear; lookups find it; an unknown value is answered from the
// in-memory set without reading etcd, and the set follows changes.
func TestCredentialRoutesAreHashed(t *testing.T) {
	f := newFixture(t)
	f.store = NewStore(f.cli, f.prefix, f.prov, WithSecretFields(credFields))
	f.seed()
	f.putConn("c1", `{"config":{"token":"tok-one-secret","team_id":"T1"}}`)
	for _, k := range f.routeKeys() {
		if strings.Contains(k, "tok-one") {
			t.Fatalf("index key %q holds the credential", k)
		}
	}
	cli, reads := countingClient(t)
	c := NewCache(cli, f.prefix, f.prov, CacheOptions{SecretFields: credFields})
	ctx := ctxT(t)
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if got := lookupIDs(t, c, "token", "tok-one-secret"); !reflect.DeepEqual(got, []string{"c1"}) {
		t.Fatalf("known token: %q", got)
	}
	if got := lookupIDs(t, c, "team_id", "T1"); !reflect.DeepEqual(got, []string{"c1"}) {
		t.Fatalf("plain field: %q", got)
	}
	eventually(t, 5*time.Second, "the credential set loads", func() bool {
		c.setsMu.RLock()
		defer c.setsMu.RUnlock()
		for _, s := range c.sets {
			return s.ready
		}
		return false
	})
	c.rc.Wait()
	before := reads.Load()
	for i := range 1000 {
		if got := lookupIDs(t, c, "token", fmt.Sprintf("random-%d", i)); len(got) != 0 {
			t.Fatalf("unknown token matched %q", got)
		}
	}
	if n := reads.Load() - before; n != 0 {
		t.Fatalf("%d etcd range reads for 1000 unknown tokens, want 0", n)
	}
	f.putConn("c2", `{"config":{"token":"tok-two"}}`)
	eventually(t, time.Second, "a new token is known", func() bool {
		return reflect.DeepEqual(lookupIDs(t, c, "token", "tok-two"), []string{"c2"})
	})
	f.putConn("c1", `{"config":{"token":"tok-three"}}`)
	eventually(t, time.Second, "a replaced token is unknown", func() bool {
		return len(lookupIDs(t, c, "token", "tok-one-secret")) == 0
	})
}

// Index entries of a credential written in clear (before hashing) are
// removed by the next write of the connection.
func TestPlainCredentialRoutesAreReplaced(t *testing.T) {
	f := newFixture(t)
	f.seed()
	f.putConn("c1", `{"config":{"token":"tok-old"}}`) // no credential fields: indexed in clear
	f.putConn("c2", `{"config":{"token":"tok-two"}}`)
	if keys := f.routeKeys(); !reflect.DeepEqual(keys, []string{"token/tok-old/c1", "token/tok-two/c2"}) {
		t.Fatalf("before: %q", keys)
	}
	f.store = NewStore(f.cli, f.prefix, f.prov, WithSecretFields(credFields))
	f.putConn("c1", `{"config":{"token":"tok-old"}}`)
	keys := f.routeKeys()
	if len(keys) != 2 || keys[0] != "token/tok-two/c2" || !strings.HasPrefix(keys[1], "token/~") {
		t.Fatalf("after a write: %q, want c1's entry hashed", keys)
	}
	if n, err := f.store.MigrateRoutes(ctxT(t)); err != nil || n != 1 {
		t.Fatalf("MigrateRoutes = %d, %v; want c2 rewritten", n, err)
	}
	for _, k := range f.routeKeys() {
		if !strings.HasPrefix(k, "token/~") {
			t.Fatalf("after MigrateRoutes: %q", f.routeKeys())
		}
	}
	if n, err := f.store.MigrateRoutes(ctxT(t)); err != nil || n != 0 {
		t.Fatalf("second MigrateRoutes = %d, %v", n, err)
	}
}
