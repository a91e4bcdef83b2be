// Package hooks runs connection lifecycle hooks (SPEC §9): the tasks the
// admin API stores in etcd when a connection of a provider with hooks is
// created or deleted. Every gateway runs one Worker. A Worker claims a due
// task through its etcd lease, so a task runs on one instance at a time
// and a crashed instance's task is taken over when its lease expires;
// config.Claim makes every write of the run conditional on the claim.
// Failed attempts are retried with backoff: 1 s doubling to 5 min (±20 %);
// a creation hook gives up after 20 attempts, a deletion hook never does.
package hooks

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/edgehook/edgehook/config"
	"github.com/edgehook/edgehook/delivery/sender"
)

// Defaults of Options (SPEC §9).
const (
	DefaultLeaseTTL            = 10 * time.Second
	DefaultMinBackoff          = time.Second
	DefaultMaxBackoff          = 5 * time.Minute
	DefaultMaxCreationAttempts = 20
	DefaultTimeout             = 20 * time.Second
	DefaultConcurrency         = 8
)

// maxLeaseTTL is SPEC's bound on the claim lease.
const maxLeaseTTL = 10 * time.Second

// Options configures a Worker; zero values take the defaults.
type Options struct {
	// PublicURL is --public-url, given to hooks that build URLs of the
	// gateway (Streak's targetUrl).
	PublicURL string
	// AllowPrivate lets hooks reach private addresses
	// (--allow-private-destinations).
	AllowPrivate bool
	// Timeout bounds one attempt (default 20 s).
	Timeout time.Duration
	// LeaseTTL is the claim lease's time to live: how long a crashed
	// instance's tasks wait before another takes them (default and
	// maximum 10 s; etcd rounds it up to whole seconds, at least 2).
	LeaseTTL time.Duration
	// Poll is how often open tasks are scanned besides the watch's
	// wake-ups (default min(1 s, LeaseTTL/2)).
	Poll time.Duration
	// MinBackoff and MaxBackoff bound the delay after a failed attempt:
	// MinBackoff doubling up to MaxBackoff, ±20 % (1 s, 5 min).
	MinBackoff, MaxBackoff time.Duration
	// MaxCreationAttempts is the number of attempts after which a
	// post-creation hook is failed (20).
	MaxCreationAttempts int
	// Concurrency bounds the attempts in flight on this instance (8).
	Concurrency int
	// Holder names this instance in claims (default host:pid).
	Holder string
	Logger *slog.Logger
}

func (o Options) withDefaults() (Options, error) {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Timeout, DefaultTimeout)
	def(&o.LeaseTTL, DefaultLeaseTTL)
	def(&o.Poll, min(time.Second, o.LeaseTTL/2))
	def(&o.MinBackoff, DefaultMinBackoff)
	def(&o.MaxBackoff, DefaultMaxBackoff)
	if o.LeaseTTL > maxLeaseTTL {
		return o, fmt.Errorf("hooks: lease TTL %v exceeds %v", o.LeaseTTL, maxLeaseTTL)
	}
	if o.MaxCreationAttempts <= 0 {
		o.MaxCreationAttempts = DefaultMaxCreationAttempts
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Holder == "" {
		host, _ := os.Hostname()
		o.Holder = host + ":" + strconv.Itoa(os.Getpid())
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	o.PublicURL = strings.TrimRight(o.PublicURL, "/")
	return o, nil
}

// Worker runs the hook tasks of one gateway. Start it once; Close stops it.
type Worker struct {
	store  *config.Store
	cli    *clientv3.Client
	opts   Options
	log    *slog.Logger
	client *fasthttp.Client

	lease    atomic.Int64 // clientv3.LeaseID; 0 while none is held
	sem      chan struct{}
	wake     chan struct{}
	mu       sync.Mutex
	inflight map[string]bool // task keys run here

	counts   [3]atomic.Int64 // pending, running, failed at the last scan
	failures atomic.Int64

	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// New returns a Worker over store. Its hooks' requests go through
// sender.Dial, so private addresses are refused unless opts.AllowPrivate.
func New(store *config.Store, opts Options) (*Worker, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	w := &Worker{
		store: store, cli: store.Client(), opts: opts, log: opts.Logger,
		sem:      make(chan struct{}, opts.Concurrency),
		wake:     make(chan struct{}, 1),
		inflight: map[string]bool{},
		client: &fasthttp.Client{
			Name:                "edgehook",
			Dial:                sender.Dial(opts.AllowPrivate, opts.Timeout),
			ReadTimeout:         opts.Timeout,
			WriteTimeout:        opts.Timeout,
			MaxResponseBodySize: 1 << 20,
			MaxIdleConnDuration: 30 * time.Second,
		},
	}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	return w, nil
}

// Start grants the worker's lease and starts scanning for due tasks. It
// returns an error only if the first lease cannot be granted within ctx;
// later losses are retried in the background.
func (w *Worker) Start(ctx context.Context) error {
	id, err := w.grant(ctx)
	if err != nil {
		return err
	}
	w.lease.Store(int64(id))
	w.wg.Add(3)
	go w.keepLease(id)
	go w.watch()
	go w.scanLoop()
	return nil
}

// Close stops the worker: it claims nothing more, cancels the context of
// the attempts in flight and waits for them to end (a request already
// sent ends within the attempt timeout) and be recorded, then revokes the
// lease so that no claim outlives the worker. Later calls do nothing.
func (w *Worker) Close() { w.closeOnce.Do(w.close) }

func (w *Worker) close() {
	w.cancel()
	w.wg.Wait()
	for range cap(w.sem) { // wait for the attempts
		w.sem <- struct{}{}
	}
	if id := clientv3.LeaseID(w.lease.Swap(0)); id != 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if _, err := w.cli.Revoke(ctx, id); err != nil {
			w.log.Warn("hooks: revoking the claim lease", "err", err)
		}
	}
	w.client.CloseIdleConnections()
}

// Task statuses HookTasks counts.
var statusIndex = map[string]int{config.TaskPending: 0, config.TaskRunning: 1, config.TaskFailed: 2}

// HookTasks returns the number of open hook tasks with status "pending",
// "running" or "failed" in the whole cluster, as of this worker's last
// scan (edgehook_hook_tasks{status}). Done tasks are history and are not
// counted: any other status is 0.
func (w *Worker) HookTasks(status string) int64 {
	i, ok := statusIndex[status]
	if !ok {
		return 0
	}
	return w.counts[i].Load()
}

// HookFailures returns the number of failed hook attempts on this
// instance since it started.
func (w *Worker) HookFailures() int64 { return w.failures.Load() }

// kick makes the scan loop scan now.
func (w *Worker) kick() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// sleep waits d or until the worker stops, reporting whether it stopped.
func (w *Worker) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-w.ctx.Done():
		return true
	case <-t.C:
		return false
	}
}
