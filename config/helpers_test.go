package config

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgehook/edgehook/provider"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// testEndpoints are those of the embedded etcd shared by the package's tests;
// each test works under its own prefix.
var testEndpoints []string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "edgehook-config-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	e, err := StartEmbedded(dir, "")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testEndpoints = e.Endpoints()
	code := m.Run()
	e.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

// newClient returns a client of the shared etcd, closed with the test.
func newClient(t testing.TB) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{
		Endpoints: testEndpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

var prefixSeq atomic.Int64

// testPrefix is a prefix no other test (or run of it, with -count) uses.
func testPrefix(t testing.TB) string {
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	return fmt.Sprintf("/test/%s-%d", name, prefixSeq.Add(1))
}

// fakeProvider provisions instances that accept everything; options
// {"mode":"bad"} are rejected and unknown option fields too.
type fakeProvider struct{ provisions atomic.Int64 }

type fakeInstance struct{ secret string }

func (*fakeProvider) ID() string { return "fake" }

func (p *fakeProvider) Provision(cfg provider.Config) (provider.Instance, error) {
	p.provisions.Add(1)
	var o struct {
		Mode string `json:"mode"`
	}
	if cfg.Options != nil {
		if err := decodeStrict(cfg.Options, &o, "options"); err != nil {
			return nil, err
		}
	}
	if o.Mode == "bad" {
		return nil, errors.New("fake: bad mode")
	}
	return &fakeInstance{secret: cfg.Secret}, nil
}

func (*fakeInstance) Verify(*provider.Request) (bool, error)           { return true, nil }
func (*fakeInstance) Route(*provider.Request, *provider.Routing) error { return nil }

// fixture is a Store and its provider over a fresh prefix.
type fixture struct {
	t      testing.TB
	cli    *clientv3.Client
	prefix string
	fake   *fakeProvider
	prov   Provisioner
	store  *Store
}

func newFixture(t testing.TB) *fixture {
	f := &fixture{t: t, cli: newClient(t), prefix: testPrefix(t), fake: &fakeProvider{}}
	reg, err := provider.NewRegistry([]provider.Provider{f.fake})
	if err != nil {
		t.Fatal(err)
	}
	f.prov = reg.Provision
	f.store = NewStore(f.cli, f.prefix, f.prov)
	return f
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// seed creates environment "prod" with integration "gh".
func (f *fixture) seed() {
	f.t.Helper()
	ctx := ctxT(f.t)
	if _, err := f.store.PutEnvironment(ctx, "prod", []byte(`{"webhook_urls":["https://app.example/hooks"],"webhook_secret":"s"}`)); err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.store.PutIntegration(ctx, "prod", "gh", []byte(`{"provider":"fake","webhook_secret":"w"}`)); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) putConn(id, js string) {
	f.t.Helper()
	if _, err := f.store.PutConnection(ctxT(f.t), "prod", "gh", id, []byte(js)); err != nil {
		f.t.Fatalf("PutConnection(%s): %v", id, err)
	}
}

// newCache starts a Cache over the fixture's prefix with its own client.
func (f *fixture) newCache(opts CacheOptions) *Cache {
	f.t.Helper()
	c := NewCache(newClient(f.t), f.prefix, f.prov, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(c.Close)
	return c
}

// routeKeys lists the index keys under the fixture's prefix, relative to
// {prefix}/envs/prod/routes/gh/.
func (f *fixture) routeKeys() []string {
	f.t.Helper()
	pfx := f.prefix + "/envs/prod/routes/gh/"
	resp, err := f.cli.Get(ctxT(f.t), pfx, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		f.t.Fatal(err)
	}
	var keys []string
	for _, kv := range resp.Kvs {
		keys = append(keys, strings.TrimPrefix(string(kv.Key), pfx))
	}
	return keys
}

// eventually polls cond every 10 ms and fails the test after d.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ids(cs []*Conn) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}
