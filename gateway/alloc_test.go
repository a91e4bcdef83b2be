package gateway

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/edgehook/edgehook/config"
	"github.com/edgehook/edgehook/plugins"
	"github.com/edgehook/edgehook/provider"
)

// The verify → route → match path of a signed GitHub delivery that matches
// a cached connection allocates nothing (STYLE.md rule 6, issue 3 target 5);
// nor does that of a Zoom event, whose instance is a Handshaker.
func TestVerifyRouteDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	emb, err := config.StartEmbedded(filepath.Join(t.TempDir(), "etcd"), "")
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Close()
	cli, err := clientv3.New(clientv3.Config{Endpoints: emb.Endpoints(), DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	reg, _ := provider.NewRegistry(plugins.All())
	ctx := context.Background()
	store := config.NewStore(cli, "", reg.Provision)
	for _, put := range []func() error{
		func() error {
			_, err := store.PutEnvironment(ctx, "prod", []byte(`{"webhook_urls":["https://app.example/h"]}`))
			return err
		},
		func() error {
			_, err := store.PutIntegration(ctx, "prod", "github", []byte(`{"provider":"github","webhook_secret":"s"}`))
			return err
		},
		func() error {
			_, err := store.PutConnection(ctx, "prod", "github", "c1", []byte(`{"config":{"installation_id":1001}}`))
			return err
		},
		func() error {
			_, err := store.PutIntegration(ctx, "prod", "zoom", []byte(`{"provider":"zoom","webhook_secret":"z"}`))
			return err
		},
		func() error {
			_, err := store.PutConnection(ctx, "prod", "zoom", "c2", []byte(`{"config":{"account_id":"acct_z1"}}`))
			return err
		},
	} {
		if err := put(); err != nil {
			t.Fatal(err)
		}
	}
	cache := config.NewCache(cli, "", reg.Provision, config.CacheOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := cache.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer cache.Close()
	s := New(Options{MaxBody: 1 << 20}, cache, store, nil, nil)

	body := []byte(`{"action":"opened","installation":{"id":1001},"repository":{"full_name":"o/r"}}`)
	m := hmac.New(sha256.New, []byte("s"))
	m.Write(body)
	var rc fasthttp.RequestCtx
	rc.Init(&fasthttp.Request{}, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}, nil)
	rc.Request.Header.SetMethod("POST")
	rc.Request.SetRequestURI("/webhook/prod/github")
	rc.Request.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
	rc.Request.Header.Set("X-GitHub-Event", "issues")
	rc.Request.SetBody(body)
	zbody := []byte(`{"event":"meeting.started","payload":{"account_id":"acct_z1","object":{"id":"123"}},"event_ts":1700000000000}`)
	var zc fasthttp.RequestCtx
	zc.Init(&fasthttp.Request{}, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}, nil)
	zc.Request.Header.SetMethod("POST")
	zc.Request.SetRequestURI("/webhook/prod/zoom")
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	zm := hmac.New(sha256.New, []byte("z"))
	zm.Write([]byte("v0:" + ts + ":"))
	zm.Write(zbody)
	zc.Request.Header.Set("x-zm-request-timestamp", ts)
	zc.Request.Header.Set("x-zm-signature", "v0="+hex.EncodeToString(zm.Sum(nil)))
	zc.Request.SetBody(zbody)
	env := []byte("prod")
	j := new(job)
	verify := func(rc *fasthttp.RequestCtx, integ []byte) {
		e, err := cache.Environment(ctx, env)
		if err != nil {
			t.Fatal(err)
		}
		ig, err := cache.Integration(ctx, env, integ)
		if err != nil {
			t.Fatal(err)
		}
		j.reset()
		if !s.verifyRoute(rc, j, env, integ, e, ig) || len(j.conns) != 1 {
			t.Fatalf("verifyRoute %s: status %d %s, %d connections", integ, rc.Response.StatusCode(), rc.Response.Body(), len(j.conns))
		}
	}
	github, zoom := []byte("github"), []byte("zoom")
	run := func() {
		verify(&rc, github)
		verify(&zc, zoom)
	}
	deadline := time.Now().Add(5 * time.Second)
	for { // until every entry is cached: a warm run reads nothing from etcd
		run()
		if n := testing.AllocsPerRun(10, run); n == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := testing.AllocsPerRun(200, run); n != 0 {
		t.Fatalf("verify → route → match allocates %v times per request", n)
	}
}

// Counting a request and its routing result updates atomics only: no
// allocation once the provider's series are resolved.
func TestIngressMetricsDoNotAllocate(t *testing.T) {
	m := newMetrics(prometheus.NewRegistry())
	m.request("github", outcomeAccepted, time.Millisecond)
	if n := testing.AllocsPerRun(200, func() {
		m.request("github", outcomeAccepted, time.Millisecond)
		m.routedEvent("github", routedMatched)
	}); n != 0 {
		t.Fatalf("counting a request allocates %v times", n)
	}
}
