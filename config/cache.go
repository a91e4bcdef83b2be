package config

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/dgraph-io/ristretto/v2"
	"github.com/dgraph-io/ristretto/v2/z"
	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/sync/singleflight"
)

// ErrUnusable is wrapped by the error a Cache returns when the stored value
// exists but does not decode, validate or provision, and no earlier good
// value is known. It is not ErrNotFound: the gateway answers it with 503
// (the operator must fix the stored value), not 404.
var ErrUnusable = errors.New("stored value unusable")

// ErrOutage is wrapped by the error of a cache miss that could not be read
// while the watch is broken (etcd unreachable); cached entries are still
// served. The gateway answers it with 503 and Retry-After.
var ErrOutage = errors.New("config: etcd unavailable")

// Static errors of the request path, so that a miss allocates nothing.
var (
	errEnvNotFound   = fmt.Errorf("config: environment: %w", ErrNotFound)
	errIntegNotFound = fmt.Errorf("config: integration: %w", ErrNotFound)
	errConnNotFound  = fmt.Errorf("config: connection: %w", ErrNotFound)
	errEnvUnusable   = fmt.Errorf("config: environment: %w", ErrUnusable)
	errIntegUnusable = fmt.Errorf("config: integration: %w", ErrUnusable)
	errConnUnusable  = fmt.Errorf("config: connection: %w", ErrUnusable)
)

// CacheOptions tune a Cache; the zero value is usable.
type CacheOptions struct {
	// MaxCost bounds the cache, in approximate bytes (default 64 MiB).
	MaxCost int64
	// NumCounters is the number of admission counters (default 2^21,
	// about ten times the entries MaxCost holds).
	NumCounters int64
	// FetchTimeout bounds one read-through fetch from etcd (default 1 s:
	// a miss waits no longer before it answers 503).
	// While the watch is broken after it was in force (an etcd outage) a
	// fetch gets a tenth of it, so that a miss answers quickly.
	FetchTimeout time.Duration
	// StaleMax is how long cached entries keep serving, as the last known
	// good values, after the watch broke (default 15 min, SPEC §11).
	StaleMax time.Duration
	// Heartbeat is how often the watch is checked for liveness; a watch
	// silent for four heartbeats is resynchronised (default 250 ms).
	Heartbeat time.Duration
	// Logger receives reports of unusable stored values and watch
	// interruptions (default slog.Default()).
	Logger *slog.Logger
	// SecretFields and Sealer are as for the Store (WithSecretFields,
	// WithSealer): credential routing values are looked up by their hash,
	// and sealed secrets opened.
	SecretFields func(providerID string) []string
	Sealer       *Sealer
}

func (o CacheOptions) withDefaults() CacheOptions {
	if o.MaxCost <= 0 {
		o.MaxCost = 64 << 20
	}
	if o.NumCounters <= 0 {
		o.NumCounters = 1 << 21
	}
	if o.FetchTimeout <= 0 {
		o.FetchTimeout = time.Second
	}
	if o.StaleMax <= 0 {
		o.StaleMax = 15 * time.Minute
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 250 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Cache is the read-through cache every gateway keeps in front of etcd for
// the request path. Entries (negative ones included) are loaded on a miss,
// with concurrent misses of one key coalesced, and invalidated by one etcd
// watch on the prefix. Until the watch is first in force the cache is
// bypassed and every lookup reads etcd. When the watch breaks (an etcd
// outage) the cached entries keep serving as the last known good values,
// for at most CacheOptions.StaleMax, while the watch is resumed from the
// last revision it applied (watch.go). A Cache is safe for concurrent use.
type Cache struct {
	cli    *clientv3.Client
	prefix string
	prov   Provisioner
	opts   CacheOptions
	log    *slog.Logger
	rc     *ristretto.Cache[[]byte, *entry]
	sf     singleflight.Group
	// serving: cached entries are in force (the watch is, or broke less
	// than StaleMax ago). inForce: the watch is established and synced.
	serving, inForce atomic.Bool

	mu          sync.Mutex
	applied     int64              // highest revision the watch has applied
	staleSince  time.Time          // when the watch broke; zero while in force
	breaks      int64              // watch breaks so far, to match expiry timers
	lastGood    map[string]goodVal // environments and integrations
	watchCancel context.CancelFunc

	setsMu sync.RWMutex
	sets   map[string]*credSet // credential routing values, by lookup key without the value
	hmu    sync.Mutex
	rh     atomic.Pointer[routeHasher]

	stop context.CancelFunc
	done chan struct{}

	// Counters (Stats), apart from the fields above so that lookups
	// counting them do not share their cache line.
	_      [64]byte
	hits   atomic.Int64
	misses atomic.Int64

	// Test hooks.
	fetches      atomic.Int64
	resyncs      atomic.Int64
	fetchHook    func() // between a fetch and its install
	beforeResync func() // in run, before each resync after a break
	nextFrom     atomic.Int64
}

// goodVal is the last good value of an environment or integration, kept so
// that a bad update leaves it in force.
type goodVal struct {
	rev int64 // mod revision
	e   *entry
}

// NewCache returns a Cache over cli for keys under prefix ("" means
// DefaultPrefix); prov provisions integrations as they are loaded. The cache
// serves from etcd directly until Start has established its watch.
func NewCache(cli *clientv3.Client, prefix string, prov Provisioner, opts CacheOptions) *Cache {
	opts = opts.withDefaults()
	rc, err := ristretto.NewCache(&ristretto.Config[[]byte, *entry]{
		NumCounters: opts.NumCounters,
		MaxCost:     opts.MaxCost,
		BufferItems: 64,
		KeyToHash:   hashKey,
	})
	if err != nil { // only for invalid sizes, which withDefaults excludes
		panic("config: creating cache: " + err.Error())
	}
	return &Cache{
		cli: cli, prefix: normPrefix(prefix), prov: prov, opts: opts,
		log: opts.Logger, rc: rc, lastGood: make(map[string]goodVal), sets: map[string]*credSet{},
	}
}

// hashKey hashes a cache key without converting it to an interface, so a
// lookup does not allocate.
func hashKey(k []byte) (uint64, uint64) { return z.MemHash(k), xxhash.Sum64(k) }

// Ready reports whether cached entries are in force: the watch has been
// synced since start and is, or broke less than StaleMax ago.
func (c *Cache) Ready() bool { return c.serving.Load() }

// CacheStatus is the state of a Cache's watch, for /readyz?verbose=1.
type CacheStatus struct {
	InForce    bool      // the watch is established and synced
	Serving    bool      // cached entries are served (see Ready)
	StaleSince time.Time // when the watch broke; zero while in force
	Revision   int64     // the last revision the watch applied
}

// Status returns the state of the watch.
func (c *Cache) Status() CacheStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	return CacheStatus{InForce: c.inForce.Load(), Serving: c.serving.Load(), StaleSince: c.staleSince, Revision: c.applied}
}

// Close stops the watch and releases the cache. Lookups after Close read
// etcd directly.
func (c *Cache) Close() {
	if c.stop != nil {
		c.stop()
		<-c.done
	}
	c.serving.Store(false)
	c.inForce.Store(false)
	c.rc.Close()
}
