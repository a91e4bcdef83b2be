// Package gateway is edgehook's fasthttp front end: the ingress route that
// receives provider webhooks (SPEC §3), the admin API (SPEC §5), and the
// health, readiness and metrics endpoints.
package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel/trace"

	"github.com/edgehook/edgehook/config"
	"github.com/edgehook/edgehook/delivery"
)

// Lookups is the read side of the configuration the ingress needs;
// *config.Cache implements it.
type Lookups interface {
	Environment(ctx context.Context, env []byte) (*config.Env, error)
	Integration(ctx context.Context, env, integ []byte) (*config.Integ, error)
	Lookup(ctx context.Context, env, integ []byte, field string, value []byte, dst []*config.Conn) ([]*config.Conn, error)
	Connection(ctx context.Context, env, integ, id []byte) (*config.Conn, error)
	Ready() bool
}

// Admin is the write side of the configuration; *config.Store implements it.
type Admin interface {
	PutEnvironment(ctx context.Context, env string, raw []byte) (*config.Environment, error)
	GetEnvironment(ctx context.Context, env string) (*config.Environment, error)
	PutIntegration(ctx context.Context, env, name string, raw []byte) (*config.Integration, error)
	GetIntegration(ctx context.Context, env, name string) (*config.Integration, error)
	PutConnection(ctx context.Context, env, integ, id string, raw []byte) (*config.Connection, error)
	GetConnection(ctx context.Context, env, integ, id string) (*config.Connection, error)
	DeleteConnection(ctx context.Context, env, integ, id string) error
	// BeginDeleteConnection deletes a connection, or starts its
	// pre-deletion hook and reports pending (SPEC §9).
	BeginDeleteConnection(ctx context.Context, env, integ, id string) (*config.Connection, bool, error)
	RetryHook(ctx context.Context, env, integ, id, name string) (*config.HookStatus, error)
	// CaptureSecret stores a secret a handshake delivered as the
	// integration's webhook_secret, unless it has one (config.ErrSecretSet).
	CaptureSecret(ctx context.Context, env, integ, secret string) error
	// The lists of SPEC §5, in name order, up to limit after the name
	// after.
	ListEnvironments(ctx context.Context, after string, limit int) ([]config.Named[*config.Environment], error)
	ListIntegrations(ctx context.Context, env, after string, limit int) ([]config.Named[*config.Integration], error)
	ListConnections(ctx context.Context, env, integ, after string, limit int) ([]config.Named[*config.Connection], error)
}

// Spooler accepts events durably and answers the delivery admin calls;
// *delivery.Service implements it.
type Spooler interface {
	Accept(ev *delivery.Event) (delivery.Result, error)
	List(env string, q delivery.Query) (list []delivery.Info, next string, err error)
	Get(env, id string) (*delivery.Detail, error)
	FindEvent(env, eventID string) ([]delivery.Detail, error)
	EventFor(env, integ, key string) (eventID string, ok bool, err error)
	Destinations() ([]delivery.DestInfo, error)
	Retry(env, id string) error
	Ready() bool
}

// Peers reaches the deliveries other instances hold, where each keeps
// its spool on its own disk (the embedded store); cluster.Admin
// implements it. Unknown ids are delivery.ErrNotFound.
type Peers interface {
	ListDeliveries(ctx context.Context, env string, q delivery.Query) ([]delivery.Info, error)
	GetDelivery(ctx context.Context, env, id string) (*delivery.Detail, error)
	RetryDelivery(ctx context.Context, env, id string) error
	// FindEvent returns the deliveries of an event the others hold.
	FindEvent(ctx context.Context, env, eventID string) ([]delivery.Detail, error)
	// FindProviderDelivery asks the others in turn for the event a
	// provider delivery id became (the one holding its dedupe record).
	FindProviderDelivery(ctx context.Context, env, integ, key string) (*delivery.EventReport, error)
}

// Options configures a Server. Zero values take the defaults noted.
type Options struct {
	MaxBody    int64  // --max-body; an integration may set a lower max_body
	PublicURL  string // --public-url, for signatures covering the URL
	AdminToken string // bearer token for the admin API; "" = none required
	// AdminHostCheck refuses admin requests whose Host is not a loopback
	// name or address (DNS rebinding); set when the admin listener is on
	// loopback.
	AdminHostCheck bool
	Logger         *slog.Logger
	// EtcdHealthy reports whether etcd answers: shown by
	// /readyz?verbose=1, and admin writes answer 503 at once while it
	// does not. An outage does not make /readyz fail (SPEC §11).
	EtcdHealthy func() bool
	// HeaderTimeout bounds reading a request's header, from its first
	// byte (from the connection's opening for the first request); 10s.
	// BodyTimeout bounds reading its body, after the header; 60s.
	// IdleTimeout closes a keep-alive connection idle that long; 60s.
	HeaderTimeout, BodyTimeout, IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's header (431 beyond); 32 KiB.
	MaxHeaderBytes int
	// MaxConns bounds the connections each listener serves at once
	// (16384); MaxConnsPerIP those from one address (1024; negative: no
	// limit, for a listener behind a load balancer).
	MaxConns, MaxConnsPerIP int
	// Metrics serves /metrics on the admin listener when set.
	Metrics fasthttp.RequestHandler
	// Extra serves admin paths no other route claims (the demo sink).
	Extra map[string]fasthttp.RequestHandler
	// Console serves the operator console's static pages under
	// /console/ (they hold no data; the API calls they make need the
	// admin token). Stats answers GET /v1/stats: the counters the
	// console's overview charts, from the same registry /metrics serves.
	Console fasthttp.RequestHandler
	Stats   func() any
	// Peers, when set, makes the delivery admin calls span every
	// instance (SPEC §12): lists merge the others' deliveries, a get or
	// retry of an id this instance does not hold asks them.
	Peers Peers
	// DeliverOnly (--role deliver): the ingress answers webhooks and its
	// /readyz 503, so that load balancers send none here.
	DeliverOnly bool
	// Tracer records the ingress spans (SPEC §10); nil: tracing off, and
	// no span is made.
	Tracer trace.Tracer
	// Registerer receives the ingress metrics families; nil: they are
	// kept but not exposed.
	Registerer prometheus.Registerer
}

// Server is one gateway: the ingress and admin fasthttp servers over shared
// configuration and spool.
type Server struct {
	opts      Options
	cfg       Lookups
	admin     Admin
	spool     Spooler
	secrets   func(providerID string) []string
	log       *slog.Logger
	tracer    trace.Tracer
	metrics   *metrics
	ingress   *fasthttp.Server
	adminSrv  *fasthttp.Server
	listening atomic.Bool
	draining  atomic.Bool
	unknown   atomic.Int64 // unknown credentials dropped
	ctx       context.Context
	cancel    context.CancelFunc
}

// New returns a Server. secretFields names, per provider id, the connection
// config fields that the admin API masks (provider.Registry's
// SecretConfigFields).
func New(opts Options, cfg Lookups, admin Admin, spool Spooler, secretFields func(string) []string) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.EtcdHealthy == nil {
		opts.EtcdHealthy = func() bool { return true }
	}
	opts = opts.withDefaults()
	s := &Server{opts: opts, cfg: cfg, admin: admin, spool: spool, secrets: secretFields, log: opts.Logger,
		tracer: opts.Tracer, metrics: newMetrics(opts.Registerer)}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.ingress = s.listener(s.serveIngress, "edgehook", int(opts.MaxBody), s.ingressHeader)
	s.ingress.NoDefaultDate = true
	s.adminSrv = s.listener(s.serveAdmin, "edgehook-admin", maxAdminBody, func(*fasthttp.RequestHeader) fasthttp.RequestConfig {
		return fasthttp.RequestConfig{ReadTimeout: s.opts.BodyTimeout}
	})
	return s
}

// maxAdminBody bounds an admin request's body.
const maxAdminBody = 4 << 20

func (o Options) withDefaults() Options {
	def := func(p *time.Duration, v time.Duration) {
		if *p <= 0 {
			*p = v
		}
	}
	def(&o.HeaderTimeout, 10*time.Second)
	def(&o.BodyTimeout, 60*time.Second)
	def(&o.IdleTimeout, 60*time.Second)
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = 32 << 10
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 16384
	}
	switch {
	case o.MaxConnsPerIP == 0:
		o.MaxConnsPerIP = 1024
	case o.MaxConnsPerIP < 0:
		o.MaxConnsPerIP = 0
	}
	return o
}

// listener is the fasthttp server of one listener with the limits of
// SPEC §11: the header read within HeaderTimeout (fasthttp's ReadTimeout,
// which onHeader resets for the body to BodyTimeout), keep-alive
// connections closed after IdleTimeout, the header within MaxHeaderBytes,
// the connections within MaxConns and MaxConnsPerIP. onHeader sets each
// request's body limit before any of the body is read.
func (s *Server) listener(h fasthttp.RequestHandler, name string, maxBody int, onHeader func(*fasthttp.RequestHeader) fasthttp.RequestConfig) *fasthttp.Server {
	return &fasthttp.Server{
		Handler:            h,
		HeaderReceived:     onHeader,
		Name:               name,
		MaxRequestBodySize: maxBody,
		ReadTimeout:        s.opts.HeaderTimeout,
		WriteTimeout:       30 * time.Second,
		IdleTimeout:        s.opts.IdleTimeout,
		ReadBufferSize:     s.opts.MaxHeaderBytes,
		Concurrency:        s.opts.MaxConns,
		MaxConnsPerIP:      s.opts.MaxConnsPerIP,
		ErrorHandler:       s.transportError,
		Logger:             fasthttpLogger{s.log},
	}
}

// ServeIngress serves provider webhooks on ln until Shutdown.
func (s *Server) ServeIngress(ln net.Listener) error {
	s.listening.Store(true)
	defer s.listening.Store(false)
	return s.ingress.Serve(ln)
}

// ServeAdmin serves the admin API, health and metrics on ln until Shutdown.
func (s *Server) ServeAdmin(ln net.Listener) error { return s.adminSrv.Serve(ln) }

// Drain makes /readyz answer 503 from now on, so that load balancers stop
// sending; requests are still served until Shutdown (SPEC §11).
func (s *Server) Drain() { s.draining.Store(true) }

// Shutdown stops accepting requests and waits for those in progress, and
// their spool writes, to finish.
func (s *Server) Shutdown() error {
	s.draining.Store(true)
	err := errors.Join(s.ingress.Shutdown(), s.adminSrv.Shutdown())
	s.cancel()
	return err
}

// UnknownCredentials returns how many events came with a routing
// credential no connection has (Streak's token): acknowledged alike,
// dropped, never forwarded.
func (s *Server) UnknownCredentials() int64 { return s.unknown.Load() }

// transportError answers requests fasthttp rejects before the handler: a
// header over MaxHeaderBytes is 431, a read that timed out 408, an
// oversized body 413 (or what the handler would answer first, for an
// unknown integration), anything else unparseable 400. Such a request
// counts under the provider "unknown": its route was not read.
func (s *Server) transportError(ctx *fasthttp.RequestCtx, err error) {
	var small *fasthttp.ErrSmallBuffer
	var ne net.Error
	switch {
	case errors.As(err, &small):
		writeError(ctx, fasthttp.StatusRequestHeaderFieldsTooLarge, "header_too_large", "request header exceeds the maximum size")
	case errors.As(err, &ne) && ne.Timeout():
		writeError(ctx, fasthttp.StatusRequestTimeout, "timeout", "request not received in time")
		ctx.SetConnectionClose()
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		if s.knownIntegration(ctx) { // else it answered as the handler would
			writeError(ctx, fasthttp.StatusRequestEntityTooLarge, "body_too_large", "request body exceeds the maximum size")
		}
	default:
		writeError(ctx, fasthttp.StatusBadRequest, "bad_request", "malformed HTTP request")
	}
	s.metrics.request(unknownProvider, outcomeOf(ctx.Response.StatusCode()), time.Since(ctx.Time()))
}

type fasthttpLogger struct{ l *slog.Logger }

func (f fasthttpLogger) Printf(format string, args ...any) {
	f.l.Debug("fasthttp", "msg", format, "args", args)
}

// verify the implementations at compile time (interface guards).
var (
	_ Lookups = (*config.Cache)(nil)
	_ Admin   = (*config.Store)(nil)
	_ Spooler = (*delivery.Service)(nil)
)

// IngressHandler returns the ingress request handler, for serving on a
// listener of one's own or calling in-process (benchmarks).
func (s *Server) IngressHandler() fasthttp.RequestHandler { return s.serveIngress }

// MarkListening records that the ingress is served by a handler obtained
// from IngressHandler, for /readyz.
func (s *Server) MarkListening(on bool) { s.listening.Store(on) }
