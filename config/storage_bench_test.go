package config

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/edgehook/edgehook/provider"
)

// BenchmarkEtcdBytesPerConnection measures what one connection costs in
// etcd (README "Capacity"): b.N connections with a routing field, a
// second config field and a credential, written through the Store into an
// etcd of the benchmark's own, and the growth of the backend's size in
// use, per connection. Run it with a fixed count, for example
// -benchtime 20000x.
func BenchmarkEtcdBytesPerConnection(b *testing.B) {
	e, err := StartEmbedded(filepath.Join(b.TempDir(), "etcd"), "")
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	cli, err := clientv3.New(clientv3.Config{Endpoints: e.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		b.Fatal(err)
	}
	defer cli.Close()
	reg, err := provider.NewRegistry([]provider.Provider{&fakeProvider{}})
	if err != nil {
		b.Fatal(err)
	}
	store := NewStore(cli, "/edgehook", reg.Provision)
	ctx := context.Background()
	if _, err := store.PutEnvironment(ctx, "prod", []byte(`{"webhook_urls":["https://app.example/hooks"],"webhook_secret":"s"}`)); err != nil {
		b.Fatal(err)
	}
	if _, err := store.PutIntegration(ctx, "prod", "gh", []byte(`{"provider":"fake","webhook_secret":"w"}`)); err != nil {
		b.Fatal(err)
	}
	inUse := func() int64 {
		st, err := cli.Status(ctx, e.Endpoints()[0])
		if err != nil {
			b.Fatal(err)
		}
		return st.DbSizeInUse
	}
	before := inUse()
	b.ResetTimer()
	for i := range b.N {
		js := fmt.Sprintf(`{"config":{"installation_id":%d,"account":"acct-%08d"},"credentials":{"access_token":"tok_%032d"}}`, 1_000_000+i, i, i)
		if _, err := store.PutConnection(ctx, "prod", "gh", fmt.Sprintf("conn-%08d", i), []byte(js)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(inUse()-before)/float64(b.N), "etcd-bytes/conn")
}
