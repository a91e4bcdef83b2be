package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.opentelemetry.io/otel"

	"github.com/edgehook/edgehook/cluster"
	"github.com/edgehook/edgehook/config"
	"github.com/edgehook/edgehook/console"
	"github.com/edgehook/edgehook/delivery"
	"github.com/edgehook/edgehook/delivery/spool"
	"github.com/edgehook/edgehook/gateway"
	"github.com/edgehook/edgehook/hooks"
	"github.com/edgehook/edgehook/internal/telemetry"
	"github.com/edgehook/edgehook/plugins"
	"github.com/edgehook/edgehook/provider"
)

// serveFlags are the flags of `edgehook serve` (SPEC §2).
type serveFlags struct {
	listen, adminListen, etcd, embeddedListen, prefix, dataDir string
	adminToken, retrySchedule, publicURL, logLevel             string
	spool, spoolStream, spoolMonitor, role, advertiseAdmin     string
	maxBody                                                    int64
	workers, spoolReplicas, circuitThreshold                   int
	attemptTimeout, hookLeaseTTL, hookBackoff, circuitCooldown time.Duration
	allowPrivate, demo                                         bool
	faults                                                     faultFlags
}

// Roles (SPEC §12).
const (
	roleAll     = "all"     // ingest and deliver
	roleIngest  = "ingest"  // verify, route, spool, ack
	roleDeliver = "deliver" // forward from the spool; ingress answers 503
)

func parseServe(args []string) (*serveFlags, error) {
	f := newFlags("serve")
	s := &serveFlags{}
	f.StringVar(&s.listen, "listen", envOr("listen", ":8080"), "ingress listen address host:port (EDGEHOOK_LISTEN)")
	f.StringVar(&s.adminListen, "admin-listen", envOr("admin-listen", "127.0.0.1:8081"), "admin API and /metrics listen address (EDGEHOOK_ADMIN_LISTEN)")
	f.StringVar(&s.etcd, "etcd", envOr("etcd", ""), "comma-separated etcd endpoint URLs; empty = embedded etcd under --data-dir (EDGEHOOK_ETCD)")
	f.StringVar(&s.embeddedListen, "embedded-etcd-listen", envOr("embedded-etcd-listen", ""), "fixed host:port for the embedded etcd's clients (EDGEHOOK_EMBEDDED_ETCD_LISTEN)")
	f.StringVar(&s.prefix, "etcd-prefix", envOr("etcd-prefix", "/edgehook"), "etcd key prefix (EDGEHOOK_ETCD_PREFIX)")
	f.StringVar(&s.dataDir, "data-dir", envOr("data-dir", "./data"), "directory of the spool and the embedded etcd (EDGEHOOK_DATA_DIR)")
	f.StringVar(&s.adminToken, "admin-token", envOr("admin-token", ""), "bearer token of the admin API; required unless --admin-listen is loopback (EDGEHOOK_ADMIN_TOKEN)")
	f.StringVar(&s.retrySchedule, "retry-schedule", envOr("retry-schedule", "5s,5m,30m,2h,5h,10h,10h"), "delays between delivery attempts (EDGEHOOK_RETRY_SCHEDULE)")
	f.StringVar(&s.publicURL, "public-url", envOr("public-url", ""), "external base URL, for signatures covering the URL (EDGEHOOK_PUBLIC_URL)")
	f.StringVar(&s.logLevel, "log-level", envOr("log-level", "info"), "debug, info, warn or error (EDGEHOOK_LOG_LEVEL)")
	f.Int64Var(&s.maxBody, "max-body", 25<<20, "maximum request body in bytes (EDGEHOOK_MAX_BODY)")
	f.IntVar(&s.workers, "workers", 256, "delivery worker pool size (EDGEHOOK_WORKERS)")
	f.DurationVar(&s.attemptTimeout, "attempt-timeout", 20*time.Second, "timeout of one delivery attempt (EDGEHOOK_ATTEMPT_TIMEOUT)")
	f.IntVar(&s.circuitThreshold, "circuit-threshold", 5, "consecutive failed attempts that open a destination's circuit (EDGEHOOK_CIRCUIT_THRESHOLD)")
	f.DurationVar(&s.circuitCooldown, "circuit-cooldown", 10*time.Second, "first rest of an open circuit before its probe, doubled by each failed probe up to 5m (EDGEHOOK_CIRCUIT_COOLDOWN)")
	f.DurationVar(&s.hookLeaseTTL, "hook-lease-ttl", hooks.DefaultLeaseTTL, "lease of a lifecycle hook task's claim: how long a crashed instance's task waits before another takes it; at most 10s (EDGEHOOK_HOOK_LEASE_TTL)")
	f.DurationVar(&s.hookBackoff, "hook-backoff", hooks.DefaultMinBackoff, "delay after a lifecycle hook's first failed attempt, doubling to 5m (EDGEHOOK_HOOK_BACKOFF)")
	f.BoolVar(&s.allowPrivate, "allow-private-destinations", false, "allow forwarding to private, loopback and link-local addresses (EDGEHOOK_ALLOW_PRIVATE_DESTINATIONS)")
	f.BoolVar(&s.demo, "demo", false, "seed a demo environment and serve a demo sink on the admin listener (EDGEHOOK_DEMO)")
	f.StringVar(&s.spool, "spool", envOr("spool", ""), "spool backend: empty = the embedded store under --data-dir; nats://host:port[,…] = a NATS JetStream cluster (EDGEHOOK_SPOOL)")
	f.IntVar(&s.spoolReplicas, "spool-replicas", 3, "replicas of the JetStream streams when created (EDGEHOOK_SPOOL_REPLICAS)")
	f.StringVar(&s.spoolStream, "spool-stream", envOr("spool-stream", "EDGEHOOK"), "JetStream stream name (EDGEHOOK_SPOOL_STREAM)")
	f.StringVar(&s.spoolMonitor, "spool-monitor", envOr("spool-monitor", ""), "NATS monitoring URLs (http://host:8222[,…]) checked for sync_interval: always at start; empty = port 8222 of each --spool host (EDGEHOOK_SPOOL_MONITOR)")
	f.StringVar(&s.role, "role", envOr("role", roleAll), "all, ingest (verify, route, spool, ack) or deliver (forward from the spool); ingest and deliver need --spool nats://… (EDGEHOOK_ROLE)")
	f.StringVar(&s.advertiseAdmin, "advertise-admin", envOr("advertise-admin", ""), "admin URL other instances use to reach this one's deliveries (embedded spool); default http://<--admin-listen> (EDGEHOOK_ADVERTISE_ADMIN)")
	for _, n := range []string{"max-body", "workers", "attempt-timeout", "circuit-threshold", "circuit-cooldown", "hook-lease-ttl", "hook-backoff", "allow-private-destinations", "demo", "spool-replicas"} {
		f.fromEnv(n)
	}
	s.faults.register(f)
	if err := f.Parse(args); err != nil {
		return nil, err
	}
	if err := s.faults.check(); err != nil {
		return nil, err
	}
	if s.adminToken == "" && !isLoopback(s.adminListen) {
		return nil, errors.New("serve: --admin-token is required when --admin-listen is not a loopback address")
	}
	if s.maxBody <= 0 {
		return nil, errors.New("serve: --max-body must be positive")
	}
	if s.hookLeaseTTL <= 0 || s.hookLeaseTTL > hooks.DefaultLeaseTTL || s.hookBackoff <= 0 {
		return nil, errors.New("serve: --hook-lease-ttl must be in (0, 10s] and --hook-backoff positive")
	}
	switch s.role {
	case roleAll:
	case roleIngest, roleDeliver:
		if s.spool == "" {
			return nil, fmt.Errorf("serve: --role %s needs a shared spool (--spool nats://…): an embedded spool is delivered only by its own instance", s.role)
		}
	default:
		return nil, fmt.Errorf("serve: --role must be all, ingest or deliver, not %q", s.role)
	}
	if s.spool != "" && !strings.HasPrefix(s.spool, "nats://") && !strings.HasPrefix(s.spool, "tls://") {
		return nil, fmt.Errorf("serve: --spool %q: want empty or nats://host:port[,…]", s.spool)
	}
	if s.spoolReplicas < 1 || s.spoolReplicas > 5 {
		return nil, errors.New("serve: --spool-replicas must be between 1 and 5")
	}
	return s, nil
}

func envOr(flagName, def string) string {
	if v, ok := os.LookupEnv(envName(flagName)); ok {
		return v
	}
	return def
}

func isLoopback(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// gatewayProc is one running gateway and what it owns, closed in reverse.
type gatewayProc struct {
	emb    *config.Embedded
	cli    *clientv3.Client
	cache  *config.Cache
	svc    *delivery.Service
	hooks  *hooks.Worker
	gw     *gateway.Server
	trace  *telemetry.Tracing   // nil: tracing off
	reg    *prometheus.Registry // edgehook's own metrics
	closed []func() error
}

func serve(args []string) error {
	fl, err := parseServe(args)
	if err != nil {
		return err
	}
	log := newLogger(fl.logLevel)
	slog.SetDefault(log)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	p := &gatewayProc{}
	defer p.close(log)
	if err := p.start(ctx, fl, log); err != nil {
		return err
	}
	<-ctx.Done()
	stop() // a second signal ends the process at once
	p.drain(fl.faults.shutdownDelay, log)
	return nil
}

// drain is the first half of the shutdown of SPEC §11: /readyz answers
// 503 at once, and after delay the listeners close, once the requests in
// flight have finished and their spool writes completed. close (deferred
// by serve) then gives the delivery attempts in flight until
// --shutdown-timeout; those still running stay pending on disk.
func (p *gatewayProc) drain(delay time.Duration, log *slog.Logger) {
	log.Info("shutting down: draining", "delay", delay)
	p.gw.Drain()
	time.Sleep(delay)
	if err := p.gw.Shutdown(); err != nil {
		log.Warn("shutdown: listeners", "err", err)
	}
	log.Info("shutting down: listeners closed")
}

func (p *gatewayProc) start(ctx context.Context, fl *serveFlags, log *slog.Logger) error {
	schedule, err := parseSchedule(fl.retrySchedule)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(fl.dataDir, 0o700); err != nil {
		return fmt.Errorf("serve: data dir: %w", err)
	}
	if err := p.startTracing(ctx, log); err != nil {
		return err
	}
	p.reg = prometheus.NewRegistry()
	endpoints := splitList(fl.etcd)
	if len(endpoints) == 0 {
		if p.emb, err = config.StartEmbeddedWith(filepath.Join(fl.dataDir, "etcd"), fl.faults.embedded(fl.embeddedListen)); err != nil {
			return fmt.Errorf("serve: embedded etcd: %w", err)
		}
		p.closed = append(p.closed, func() error { p.emb.Close(); return nil })
		endpoints = p.emb.Endpoints()
	}
	if p.cli, err = fl.faults.etcdClient(endpoints, p.emb != nil); err != nil {
		return err
	}
	p.closed = append(p.closed, p.cli.Close)
	reg, err := provider.NewRegistry(plugins.All())
	if err != nil {
		return err
	}
	sealer, err := fl.faults.sealer()
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	store := config.NewStore(p.cli, fl.prefix, reg.Provision, config.WithSecretFields(reg.SecretConfigFields), config.WithSealer(sealer))
	p.cache = config.NewCache(p.cli, fl.prefix, reg.Provision, config.CacheOptions{Logger: log,
		StaleMax: fl.faults.staleConfigMax, SecretFields: reg.SecretConfigFields, Sealer: sealer})
	if err := p.cache.Start(ctx); err != nil {
		return fmt.Errorf("serve: config watch: %w", err)
	}
	p.closed = append(p.closed, func() error { p.cache.Close(); return nil })
	registerCache(p.reg, p.cache)
	if n, err := store.MigrateRoutes(ctx); err != nil {
		log.Warn("serve: hashing credential routing values written in clear", "err", err)
	} else if n > 0 {
		log.Info("serve: credential routing values written in clear are now hashed", "connections", n)
	}
	if err := p.startHooks(ctx, fl, store, log); err != nil {
		return err
	}
	registerHooks(p.reg, p.hooks)
	if err := p.startDelivery(fl, schedule, log); err != nil {
		return err
	}
	etcdOK := p.watchEtcd(ctx)
	opts := gateway.Options{
		MaxBody:        fl.maxBody,
		PublicURL:      fl.publicURL,
		AdminToken:     fl.adminToken,
		AdminHostCheck: isLoopback(fl.adminListen),
		Logger:         log,
		EtcdHealthy:    etcdOK.Load,
		Metrics:        metricsHandler(p.reg),
		Tracer:         p.trace.Tracer(),
		Registerer:     p.reg,
		DeliverOnly:    fl.role == roleDeliver,
	}
	if fl.spool == "" { // each instance's deliveries are on its own disk: ask the others too
		if opts.Peers, err = p.startPeers(ctx, fl, log); err != nil {
			return err
		}
	}
	fl.faults.gatewayLimits(&opts)
	opts.Stats = console.Stats(p.reg)
	hint := genericHint(fl.listen)
	if fl.demo {
		hint = demoCurl("http://" + loopbackAddr(fl.listen))
	}
	opts.Console = console.Handler(console.Options{Hint: hint})
	if fl.demo {
		opts.Extra = map[string]fasthttpHandler{demoSinkPath: demoSink(log)}
	}
	p.gw = gateway.New(opts, p.cache, store, p.svc, reg.SecretConfigFields)
	registerFaults(p.reg, etcdOK.Load, p.cache, p.gw.UnknownCredentials)
	return p.listen(ctx, fl, store, log)
}

func (p *gatewayProc) listen(ctx context.Context, fl *serveFlags, store *config.Store, log *slog.Logger) error {
	in, err := net.Listen("tcp", fl.listen)
	if err != nil {
		return fmt.Errorf("serve: ingress listener: %w", err)
	}
	ad, err := net.Listen("tcp", fl.adminListen)
	if err != nil {
		in.Close()
		return fmt.Errorf("serve: admin listener: %w", err)
	}
	p.closed = append(p.closed, p.gw.Shutdown)
	go func() {
		if err := p.gw.ServeIngress(in); err != nil {
			log.Error("ingress stopped", "err", err)
		}
	}()
	go func() {
		if err := p.gw.ServeAdmin(ad); err != nil {
			log.Error("admin stopped", "err", err)
		}
	}()
	log.Info("edgehook listening", "ingress", in.Addr().String(), "admin", ad.Addr().String(),
		"console", "http://"+loopbackAddr(ad.Addr().String())+"/console/", "etcd", p.cli.Endpoints())
	if fl.demo {
		return seedDemo(ctx, store, in.Addr().String(), ad.Addr().String())
	}
	return nil
}

// startDelivery opens the spool (embedded, or JetStream with --spool)
// and starts the delivery service for the role.
func (p *gatewayProc) startDelivery(fl *serveFlags, schedule []time.Duration, log *slog.Logger) error {
	o := delivery.Options{
		Dir:              filepath.Join(fl.dataDir, "spool"),
		Workers:          fl.workers,
		Schedule:         schedule,
		AttemptTimeout:   fl.attemptTimeout,
		AllowPrivate:     fl.allowPrivate,
		CircuitThreshold: fl.circuitThreshold,
		CircuitCooldown:  fl.circuitCooldown,
		Secret:           p.envSecret,
		AppURLs:          p.appURLs,
		Logger:           log,
		Tracer:           p.trace.Tracer(),
		Registerer:       p.reg,
		MaxBytes:         fl.faults.spoolMaxBytes,
		MinFree:          max(fl.faults.spoolMinFree, 1), // 0: none
		ShutdownTimeout:  fl.faults.shutdownTimeout,
		NoDeliver:        fl.role == roleIngest,
	}
	if fl.spool != "" {
		warnUnsynced(fl.spool, fl.spoolMonitor, log)
		sp, err := spool.OpenJetStream(spool.JetStreamOptions{
			URL: fl.spool, Replicas: fl.spoolReplicas, Stream: fl.spoolStream, Logger: log,
			MaxBytes: fl.faults.spoolMaxBytes,
			Name:     "edgehook " + fl.role + " " + fl.adminListen,
		})
		if err != nil {
			return fmt.Errorf("serve: spool: %w", err)
		}
		o.Spool = sp
	}
	var err error
	if p.svc, err = delivery.New(o); err != nil {
		return fmt.Errorf("serve: spool: %w", err)
	}
	p.svc.Start()
	p.closed = append(p.closed, func() error { p.svc.Close(); return nil })
	log.Info("delivery started", "role", fl.role, "spool", spoolName(fl.spool))
	return nil
}

func spoolName(url string) string {
	if url == "" {
		return "embedded"
	}
	return "jetstream"
}

// startPeers registers this instance's admin URL in etcd and returns
// what asks the other instances for their deliveries (embedded spool).
func (p *gatewayProc) startPeers(ctx context.Context, fl *serveFlags, log *slog.Logger) (gateway.Peers, error) {
	adv := fl.advertiseAdmin
	if adv == "" {
		adv = "http://" + fl.adminListen
	}
	reg, err := cluster.Register(ctx, p.cli, fl.prefix, adv, 10*time.Second, log)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	p.closed = append(p.closed, func() error { reg.Close(); return nil })
	return cluster.NewAdmin(reg, fl.adminToken), nil
}

// startTracing installs the OpenTelemetry SDK when the OTEL_* variables
// name an endpoint (SPEC §10); its shutdown, which exports the last
// spans, runs after everything else has stopped.
func (p *gatewayProc) startTracing(ctx context.Context, log *slog.Logger) error {
	tr, err := telemetry.FromEnv(ctx)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if tr == nil {
		return nil
	}
	p.trace = tr
	otel.SetErrorHandler(telemetry.ErrorHandler{Log: log})
	p.closed = append(p.closed, func() error {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return tr.Shutdown(c)
	})
	log.Info("tracing on: spans exported by OTLP", "protocol", tr.Protocol())
	return nil
}

// startHooks starts the lifecycle hook task worker (SPEC §9).
func (p *gatewayProc) startHooks(ctx context.Context, fl *serveFlags, store *config.Store, log *slog.Logger) error {
	var err error
	p.hooks, err = hooks.New(store, hooks.Options{
		PublicURL:    fl.publicURL,
		AllowPrivate: fl.allowPrivate,
		Timeout:      fl.attemptTimeout,
		LeaseTTL:     fl.hookLeaseTTL,
		MinBackoff:   fl.hookBackoff,
		Logger:       log,
	})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if err := p.hooks.Start(ctx); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	p.closed = append(p.closed, func() error { p.hooks.Close(); return nil })
	return nil
}

// envSecret returns an environment's webhook_secret for outgoing signatures.
func (p *gatewayProc) envSecret(env string) (string, error) {
	e, err := p.cache.Environment(context.Background(), []byte(env))
	if err != nil {
		return "", err
	}
	return e.Secret, nil
}

// appURLs returns where a sync webhook about a connection goes (SPEC §8).
func (p *gatewayProc) appURLs(env, integ, conn string) ([]string, error) {
	return p.cache.AppURLs(context.Background(), env, integ, conn)
}

// watchEtcd keeps a flag saying whether etcd answered within the last probe.
func (p *gatewayProc) watchEtcd(ctx context.Context) *atomic.Bool {
	ok := new(atomic.Bool)
	probe := func() {
		c, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		_, err := p.cli.Get(c, "health", clientv3.WithCountOnly())
		ok.Store(err == nil)
	}
	probe()
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				probe()
			}
		}
	}()
	return ok
}

func (p *gatewayProc) close(log *slog.Logger) {
	for i := len(p.closed) - 1; i >= 0; i-- {
		if err := p.closed[i](); err != nil {
			log.Warn("shutdown", "err", err)
		}
	}
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
