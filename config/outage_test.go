package config

import (
	"errors"
	"net"
	"reflect"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
)

// The cache serves its entries while etcd is down, answers a miss
// quickly with ErrOutage, and once etcd is back its watch resumes and the
// changes made since are in force.
func TestCacheThroughEtcdRestart(t *testing.T) {
	dir := t.TempDir()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	e, err := StartEmbedded(dir, addr)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: e.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop(),
		DialOptions: []grpc.DialOption{ReconnectFast()}})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	f := newFixture(t)
	f.cli, f.prefix = cli, "/edgehook"
	f.store = NewStore(cli, f.prefix, f.prov)
	f.seed()
	f.putConn("c1", `{"config":{"team_id":"T1"}}`)
	c := NewCache(cli, f.prefix, f.prov, CacheOptions{})
	if err := c.Start(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	lookupIDs(t, c, "team_id", "T1")
	c.rc.Wait()
	e.Close()
	eventually(t, 5*time.Second, "the outage is seen", func() bool { return !c.Status().InForce })
	if got := lookupIDs(t, c, "team_id", "T1"); !reflect.DeepEqual(got, []string{"c1"}) {
		t.Fatalf("cached during the outage: %q", got)
	}
	start := time.Now()
	_, err = c.Lookup(ctxT(t), bEnv, bInteg, "team_id", []byte("T2"), nil)
	if !errors.Is(err, ErrOutage) || time.Since(start) > 500*time.Millisecond {
		t.Fatalf("a miss during the outage: %v after %v, want ErrOutage quickly", err, time.Since(start))
	}
	time.Sleep(time.Second)
	if e, err = StartEmbedded(dir, addr); err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	defer cli.Close()
	defer c.Close() // before etcd, which waits for its watchers
	eventually(t, 10*time.Second, "the watch in force again", func() bool { return c.Status().InForce })
	f.putConn("c2", `{"config":{"team_id":"T1"}}`)
	eventually(t, time.Second, "a change after the outage", func() bool {
		return reflect.DeepEqual(lookupIDs(t, c, "team_id", "T1"), []string{"c1", "c2"})
	})
}
