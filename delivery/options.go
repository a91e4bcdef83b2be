package delivery

import (
	"errors"
	"log/slog"
	"time"
)

// DefaultSchedule is the retry schedule after the first attempt (SPEC §6).
var DefaultSchedule = []time.Duration{
	5 * time.Second, 5 * time.Minute, 30 * time.Minute,
	2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour,
}

// Options configures a Service. Zero values take the defaults noted.
type Options struct {
	Dir                string          // spool directory (required)
	Workers            int             // ants pool size for all sends; 256
	PerDestConcurrency int             // in-flight cap per destination; 32
	Schedule           []time.Duration // delays after each failed attempt; DefaultSchedule
	Jitter             float64         // ± fraction applied to each delay; 0.2 (<0 disables)
	AttemptTimeout     time.Duration   // whole attempt, connect to reply; 20s
	AllowPrivate       bool            // allow private, loopback, link-local destinations
	// Secret returns the environment's webhook_secret. It is called at send
	// time, so a rotated secret applies to retries; an error fails the
	// attempt, which is then retried per the schedule.
	Secret func(env string) (string, error)
	Logger *slog.Logger
	Now    func() time.Time // clock; time.Now
	// MaxPending bounds the undelivered deliveries on disk; Accept returns
	// ErrOverloaded beyond it. 4,000,000.
	MaxPending int
	// MaxInMemory bounds the deliveries held in memory (ready or in
	// flight); the rest wait on disk. 4096.
	MaxInMemory int
	// PerDestMemory bounds one destination's deliveries in memory, at
	// least PerDestConcurrency; 1024. A destination whose circuit opens
	// gives back those not in flight. Its disk queue is read when a
	// quarter of this is free, so that one scan serves many deliveries.
	PerDestMemory int
	// MaxMemoryBodies bounds the bytes of forward bodies kept in memory
	// with deliveries handed over at accept time; beyond it a body is read
	// back from disk when sent. 32 MiB.
	MaxMemoryBodies int
	// MaxSyncWaiters bounds the Accepts waiting for their disk sync;
	// Accept returns ErrOverloaded beyond it. 8192.
	MaxSyncWaiters int
	// CircuitThreshold is the number of consecutive failed attempts that
	// opens a destination's circuit; 5.
	CircuitThreshold int
	// CircuitCooldown is how long an open circuit waits before one probe;
	// it doubles on each failed probe up to CircuitMaxCooldown. 10s, 5m.
	CircuitCooldown    time.Duration
	CircuitMaxCooldown time.Duration
	// ShutdownTimeout bounds how long Close waits for in-flight attempts;
	// AttemptTimeout + 1s.
	ShutdownTimeout time.Duration
	// DedupeGCInterval is how often expired dedupe records are removed; 1m.
	DedupeGCInterval time.Duration
}

// withDefaults returns o with the zero values replaced by defaults.
func (o Options) withDefaults() (Options, error) {
	if o.Dir == "" {
		return o, errors.New("delivery: options: Dir is required")
	}
	setInt(&o.Workers, 256)
	setInt(&o.PerDestConcurrency, 32)
	setInt(&o.MaxPending, 4_000_000)
	setInt(&o.MaxInMemory, 4096)
	setInt(&o.PerDestMemory, 1024)
	setInt(&o.MaxSyncWaiters, 8192)
	setInt(&o.MaxMemoryBodies, 32<<20)
	setInt(&o.CircuitThreshold, 5)
	setDur(&o.AttemptTimeout, 20*time.Second)
	setDur(&o.CircuitCooldown, 10*time.Second)
	setDur(&o.CircuitMaxCooldown, 5*time.Minute)
	setDur(&o.ShutdownTimeout, o.AttemptTimeout+time.Second)
	setDur(&o.DedupeGCInterval, time.Minute)
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

// perDestMemory is how many deliveries of one destination may be held in
// memory: PerDestMemory, at least the concurrency cap, within MaxInMemory.
func (o *Options) perDestMemory() int {
	return min(max(o.PerDestMemory, o.PerDestConcurrency), o.MaxInMemory)
}
