package bench

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.opentelemetry.io/otel/trace"

	"github.com/edgehook/edgehook/config"
	"github.com/edgehook/edgehook/delivery"
	"github.com/edgehook/edgehook/gateway"
	"github.com/edgehook/edgehook/internal/telemetry"
	"github.com/edgehook/edgehook/plugins"
	"github.com/edgehook/edgehook/provider"
)

const (
	benchConns  = 1000
	benchSecret = "bench-secret"
)

// rig is an in-process gateway over a real embedded etcd and spool,
// forwarding to a local fasthttp sink.
type rig struct {
	handler fasthttp.RequestHandler
	bodies  [][]byte
	sigs    []string
}

func newRig(b *testing.B, tracer trace.Tracer) *rig {
	b.Helper()
	dir := b.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	emb, err := config.StartEmbedded(filepath.Join(dir, "etcd"), "")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(emb.Close)
	cli, err := clientv3.New(clientv3.Config{Endpoints: emb.Endpoints(), DialTimeout: 5 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cli.Close() })
	reg, _ := provider.NewRegistry(plugins.All())
	ctx := context.Background()
	store := config.NewStore(cli, "/edgehook", reg.Provision)
	cache := config.NewCache(cli, "/edgehook", reg.Provision, config.CacheOptions{Logger: log})
	if err := cache.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(cache.Close)
	sinkURL := startSink(b)
	mustPut(b, func() error {
		_, err := store.PutEnvironment(ctx, "bench", []byte(`{"webhook_urls":["`+sinkURL+`"],"webhook_secret":"app"}`))
		return err
	})
	mustPut(b, func() error {
		_, err := store.PutIntegration(ctx, "bench", "github", []byte(`{"provider":"github","webhook_secret":"`+benchSecret+`"}`))
		return err
	})
	for i := 0; i < benchConns; i++ {
		mustPut(b, func() error {
			_, err := store.PutConnection(ctx, "bench", "github", "conn-"+strconv.Itoa(i), []byte(`{"config":{"installation_id":`+strconv.Itoa(i)+`}}`))
			return err
		})
	}
	svc, err := delivery.New(delivery.Options{
		Dir: filepath.Join(dir, "spool"), Workers: 64, AllowPrivate: true, Logger: log, Tracer: tracer,
		Secret: func(string) (string, error) { return "app", nil },
	})
	if err != nil {
		b.Fatal(err)
	}
	svc.Start()
	b.Cleanup(svc.Close)
	gw := gateway.New(gateway.Options{MaxBody: 25 << 20, Logger: log, Tracer: tracer}, cache, store, svc, reg.SecretConfigFields)
	r := &rig{handler: gw.IngressHandler()}
	for i := 0; i < benchConns; i++ {
		body := fmt.Appendf(nil, `{"action":"opened","installation":{"id":%d},"pad":"%0900d"}`, i, i)
		m := hmac.New(sha256.New, []byte(benchSecret))
		m.Write(body)
		r.bodies = append(r.bodies, body)
		r.sigs = append(r.sigs, "sha256="+hex.EncodeToString(m.Sum(nil)))
	}
	return r
}

func mustPut(b *testing.B, f func() error) {
	b.Helper()
	if err := f(); err != nil {
		b.Fatal(err)
	}
}

func startSink(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {}}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Shutdown() })
	return "http://" + ln.Addr().String() + "/hook"
}

var remote = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}

// request prepares ctx as the signed delivery i.
func (r *rig) request(ctx *fasthttp.RequestCtx, i int) {
	ctx.Request.Reset()
	ctx.Response.Reset()
	ctx.Request.Header.SetMethod("POST")
	ctx.Request.SetRequestURI("/webhook/bench/github")
	ctx.Request.Header.Set("X-Hub-Signature-256", r.sigs[i%len(r.sigs)])
	ctx.Request.Header.Set("X-GitHub-Event", "issues")
	ctx.Request.SetBody(r.bodies[i%len(r.bodies)])
}

// BenchmarkIngest measures the in-process verify → route → fsync'd spool →
// 200 path with concurrent requests sharing group commits; tracing is off.
func BenchmarkIngest(b *testing.B) { benchIngest(b, newRig(b, nil)) }

// BenchmarkIngestTraced is BenchmarkIngest with tracing on, sampling
// every request: the ingress span and its three children, and an attempt
// span per forward, exported by OTLP/HTTP (batched) to a receiver on
// 127.0.0.1 that discards them.
func BenchmarkIngestTraced(b *testing.B) {
	b.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", startDiscardingReceiver(b))
	b.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	b.Setenv("OTEL_TRACES_SAMPLER", "always_on")
	tr, err := telemetry.FromEnv(context.Background())
	if err != nil || tr == nil {
		b.Fatalf("tracing: %v", err)
	}
	b.Cleanup(func() { tr.Shutdown(context.Background()) })
	benchIngest(b, newRig(b, tr.Tracer()))
}

// startDiscardingReceiver answers OTLP/HTTP trace exports without reading
// what they hold, and returns its endpoint.
func startDiscardingReceiver(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { ctx.SetContentType("application/x-protobuf") }}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Shutdown() })
	return "http://" + ln.Addr().String()
}

func benchIngest(b *testing.B, r *rig) {
	b.ReportAllocs()
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var ctx fasthttp.RequestCtx
		ctx.Init(&fasthttp.Request{}, remote, nil)
		i := 0
		for pb.Next() {
			r.request(&ctx, i)
			r.handler(&ctx)
			if ctx.Response.StatusCode() != 200 {
				b.Errorf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
				return
			}
			i++
		}
	})
}

// BenchmarkBaseline is the same request through a bare fasthttp handler that
// reads the body and answers 200: the ceiling the ingest is compared to.
func BenchmarkBaseline(b *testing.B) {
	r := &rig{bodies: [][]byte{make([]byte, 1024)}, sigs: []string{"x"}}
	var sink int
	handler := func(ctx *fasthttp.RequestCtx) { sink += len(ctx.PostBody()); ctx.SetStatusCode(200) }
	b.ReportAllocs()
	var ctx fasthttp.RequestCtx
	ctx.Init(&fasthttp.Request{}, remote, nil)
	for i := 0; i < b.N; i++ {
		r.request(&ctx, i)
		handler(&ctx)
	}
}
