package config

import (
	"context"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

func TestEmbeddedRestartKeepsData(t *testing.T) {
	dir := t.TempDir()
	put := func(e *Embedded, f func(*clientv3.Client, context.Context)) {
		cli, err := clientv3.New(clientv3.Config{Endpoints: e.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
		if err != nil {
			t.Fatal(err)
		}
		defer cli.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		f(cli, ctx)
	}
	e, err := StartEmbedded(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	put(e, func(cli *clientv3.Client, ctx context.Context) {
		if _, err := cli.Put(ctx, "k", "v"); err != nil {
			t.Fatal(err)
		}
	})
	e.Close()
	e, err = StartEmbedded(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	put(e, func(cli *clientv3.Client, ctx context.Context) {
		resp, err := cli.Get(ctx, "k")
		if err != nil || len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "v" {
			t.Fatalf("after restart: %v, %v", resp, err)
		}
	})
}

func TestEmbeddedRejectsBadListen(t *testing.T) {
	if _, err := StartEmbedded(t.TempDir(), "no-port"); err == nil {
		t.Fatal("want an error for a listen address without a port")
	}
}
