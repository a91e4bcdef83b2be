package delivery

import (
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/edgehook/edgehook/delivery/spool"
)

// DefaultSchedule is the retry schedule after the first attempt (SPEC §6).
var DefaultSchedule = []time.Duration{
	5 * time.Second, 5 * time.Minute, 30 * time.Minute,
	2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour,
}

// Options configures a Service. Zero values take the defaults noted.
type Options struct {
	Dir string // spool directory of the embedded store (required unless Spool is set)
	// Spool, when set, is the store to use instead of the embedded one in
	// Dir (spool.OpenJetStream's); the Service closes it.
	Spool spool.Spool
	// NoDeliver makes an ingest-only Service (--role ingest): it spools
	// events and answers the admin calls, and never attempts a delivery;
	// instances sharing its Spool deliver them.
	NoDeliver          bool
	Workers            int             // worker pool for all attempts; 256
	PerDestConcurrency int             // in-flight cap of one destination; 32
	Schedule           []time.Duration // delays after each failed attempt; DefaultSchedule
	Jitter             float64         // ± fraction applied to each delay; 0.2 (<0 disables)
	AttemptTimeout     time.Duration   // one attempt, connect to reply; 20s
	AllowPrivate       bool            // allow private, loopback, link-local destinations
	// Secret returns the environment's webhook_secret. It is called at send
	// time, so a rotated secret applies to retries. An error is ours, not
	// the destination's: the delivery waits LocalRetry and no attempt is
	// counted.
	Secret func(env string) (string, error)
	// AppURLs returns where a sync webhook about connection connID of
	// integration integ goes (its webhook_url_override, else the
	// environment's webhook_urls): a runner's reply that reports changes
	// becomes one there (SPEC §8). It is called before each runner
	// attempt; an error is ours, as for Secret. Nil sends no sync
	// webhooks from runner replies.
	AppURLs func(env, integ, connID string) ([]string, error)

	Logger *slog.Logger
	Now    func() time.Time // clock; time.Now
	// MaxPending bounds the pending deliveries; 4,000,000. MaxBytes is
	// the spool's byte budget (0: 80 % of the disk space free at start)
	// and MinFree the space it leaves free (1 GiB). Past any of them,
	// Accept returns ErrOverloaded.
	MaxPending int
	MaxBytes   int64
	MinFree    int64
	// MaxInMemory bounds the deliveries the spool keeps in memory, ready
	// to lease; 16384. MaxMemoryBodies bounds the bytes of bodies kept with
	// them; 32 MiB.
	MaxInMemory     int
	MaxMemoryBodies int64
	// Journal is how many recently delivered deliveries the admin API can
	// still show (the spool forgets a delivery once delivered); 4096.
	// Negative: none.
	Journal int
	// MaxSyncWaiters bounds the Accepts waiting for their disk sync;
	// Accept returns ErrOverloaded beyond it. 8192.
	MaxSyncWaiters int
	// SlowLatency: a destination whose replies take longer is slow (see
	// delivery/scheduler); 1s.
	SlowLatency time.Duration
	// CircuitThreshold consecutive failed attempts open a destination's
	// circuit for CircuitCooldown, doubled by each failed probe up to
	// CircuitMaxCooldown; 5, 10s, 5m.
	CircuitThreshold   int
	CircuitCooldown    time.Duration
	CircuitMaxCooldown time.Duration
	// ShutdownTimeout bounds how long Close waits for attempts in flight;
	// AttemptTimeout + 1s.
	ShutdownTimeout time.Duration
	// GCInterval is how often expired dedupe records and old dead letters
	// are removed; 1m. DeadRetention is how long a dead letter is kept;
	// 14 days.
	GCInterval    time.Duration
	DeadRetention time.Duration
	// LocalRetry is how long a delivery waits after a failure of ours
	// (configuration unavailable, a disk error); 1s.
	LocalRetry time.Duration
	// Tracer records one edgehook.attempt span per attempt (SPEC §10);
	// nil: tracing off, and the stored traceparent is sent as it is.
	Tracer trace.Tracer
	// Registerer receives the delivery metrics families; nil: they are
	// kept but not exposed.
	Registerer prometheus.Registerer
}

// withDefaults returns o with the zero values replaced by defaults.
func (o Options) withDefaults() (Options, error) {
	if o.Dir == "" && o.Spool == nil {
		return o, errors.New("delivery: options: Dir or Spool is required")
	}
	setInt(&o.Workers, 256)
	setInt(&o.PerDestConcurrency, 32)
	setInt(&o.MaxPending, 4_000_000)
	setInt(&o.MaxSyncWaiters, 8192)
	switch {
	case o.Journal == 0:
		o.Journal = 4096
	case o.Journal < 0:
		o.Journal = 0
	}
	setDur(&o.AttemptTimeout, 20*time.Second)
	setDur(&o.ShutdownTimeout, o.AttemptTimeout+time.Second)
	setDur(&o.GCInterval, time.Minute)
	setDur(&o.DeadRetention, 14*24*time.Hour)
	setDur(&o.LocalRetry, time.Second)
	if o.Schedule == nil {
		o.Schedule = DefaultSchedule
	}
	o.Schedule = append([]time.Duration(nil), o.Schedule...)
	if o.Jitter == 0 {
		o.Jitter = 0.2
	}
	if o.Jitter < 0 || o.Jitter >= 1 {
		o.Jitter = 0
	}
	if o.Secret == nil {
		o.Secret = func(string) (string, error) { return "", nil }
	}
	if o.AppURLs == nil {
		o.AppURLs = func(string, string, string) ([]string, error) { return nil, nil }
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o, nil
}

func setInt(p *int, def int) {
	if *p <= 0 {
		*p = def
	}
}

func setDur(p *time.Duration, def time.Duration) {
	if *p <= 0 {
		*p = def
	}
}
