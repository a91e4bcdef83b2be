package spool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// JetStreamOptions configures the JetStream spool. Zero values take the
// defaults noted.
type JetStreamOptions struct {
	URL      string // nats://host:port[,…] (required)
	Replicas int    // replicas of the streams when created; 3
	// Stream names the stream; "EDGEHOOK". Its subjects start with the
	// name in lowercase, its counters live in Stream+"_REFS".
	Stream string
	// AckWait is how long a lease outlives the process holding it: a
	// lost instance's leases come back after it, on any instance. A live
	// holder keeps its leases up to their own ttl. 15s.
	AckWait time.Duration
	// Poll is how often the destinations' consumers are listed: a safety
	// net for work no message announced (leases of a lost instance) and
	// the source of Stats; 2s.
	Poll time.Duration
	// Timeout bounds one operation against the servers; 10s.
	Timeout time.Duration
	// InlineBody is the largest body that travels in its delivery's
	// record when one delivery needs it; 256 KiB. Other bodies are
	// stored once, in pieces of ChunkSize (256 KiB).
	InlineBody int
	ChunkSize  int
	// MaxBytes (0: the servers' own limits only) and MaxPending
	// (4,000,000) make Append answer ErrOverloaded beyond them, as read
	// at the last poll.
	MaxBytes   int64
	MaxPending int64
	// Prefetch bounds the deliveries of one destination and class
	// fetched ahead, ready to lease (kept alive while they wait); 32.
	// PullWait is how long one pull request waits on the servers (5s),
	// and a destination's puller stops after ActiveFor (30s) without a
	// delivery.
	Prefetch  int
	PullWait  time.Duration
	ActiveFor time.Duration
	// IdleConsumer: a destination's consumer with nothing to deliver
	// for this long is removed; 10m.
	IdleConsumer time.Duration
	Name         string // the connection's name, as the servers list it
	Logger       *slog.Logger
}

func (o JetStreamOptions) withDefaults() (JetStreamOptions, error) {
	if o.URL == "" {
		return o, errors.New("spool: jetstream: a server URL is required")
	}
	if o.Stream == "" {
		o.Stream = "EDGEHOOK"
	}
	if !validToken(o.Stream) {
		return o, fmt.Errorf("spool: jetstream: %q is not a stream name", o.Stream)
	}
	if o.Replicas <= 0 {
		o.Replicas = 3
	}
	def := func(p *time.Duration, v time.Duration) {
		if *p <= 0 {
			*p = v
		}
	}
	def(&o.AckWait, 15*time.Second)
	def(&o.Poll, 2*time.Second)
	def(&o.Timeout, 10*time.Second)
	def(&o.IdleConsumer, 10*time.Minute)
	def(&o.PullWait, 5*time.Second)
	def(&o.ActiveFor, 30*time.Second)
	if o.Prefetch <= 0 {
		o.Prefetch = 32
	}
	if o.InlineBody <= 0 {
		o.InlineBody = 256 << 10
	}
	if o.ChunkSize <= 0 {
		o.ChunkSize = 256 << 10
	}
	if o.MaxPending <= 0 {
		o.MaxPending = 4_000_000
	}
	if o.Name == "" {
		o.Name = "edgehook"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}

// jsSpool is the Spool on a NATS JetStream stream (jssubj.go has its
// layout). What it keeps in memory is only this process's: its leases,
// and per destination whether it has heard of due work.
type jsSpool struct {
	o    JetStreamOptions
	log  *slog.Logger
	nc   *nats.Conn
	js   jetstream.JetStream
	st   jetstream.Stream // deliveries, bodies, dedupe records
	refs jetstream.Stream // shared bodies' counters
	subj jsSubjects

	mu     sync.Mutex
	dests  map[string]*jsDest
	leases map[uint64]*jsLease
	watch  func(dest string, due time.Time)
	wake   *nats.Subscription

	leaseSeq     atomic.Uint64
	stats        atomic.Pointer[Stats] // as of the last poll
	schedCounted time.Time             // when the last poll counted the retries waiting per destination

	closeMu sync.RWMutex // held for reading around every operation
	closed  bool
	closing atomic.Bool
	run     context.Context // cancelled by Close
	stop    context.CancelFunc
	loops   sync.WaitGroup // the poller, the keep-alive, the pullers
}

// OpenJetStream connects to the servers at o.URL, creates the streams
// if they do not exist (file storage, o.Replicas) and returns the spool.
// Deliveries left by other instances, or by an earlier run, are found
// there.
func OpenJetStream(o JetStreamOptions) (Spool, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	j := &jsSpool{o: o, log: o.Logger, subj: jsSubjects{p: strings.ToLower(o.Stream)},
		dests: map[string]*jsDest{}, leases: map[uint64]*jsLease{}}
	j.run, j.stop = context.WithCancel(context.Background())
	j.stats.Store(&Stats{})
	j.nc, err = nats.Connect(o.URL, nats.Name(o.Name), nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond),
		nats.Timeout(5*time.Second), nats.ReconnectBufSize(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				j.log.Warn("spool: jetstream: disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			j.log.Info("spool: jetstream: reconnected", "server", nc.ConnectedUrlRedacted())
		}))
	if err != nil {
		return nil, fmt.Errorf("spool: jetstream: connecting to %s: %w", o.URL, err)
	}
	if j.js, err = jetstream.New(j.nc, jetstream.WithPublishAsyncTimeout(o.Timeout)); err != nil {
		j.nc.Close()
		return nil, fmt.Errorf("spool: jetstream: %w", err)
	}
	if err := j.setupRetrying(); err != nil {
		j.stop()
		j.nc.Close()
		return nil, err
	}
	j.poll()
	j.loops.Add(2)
	go j.pollLoop()
	go j.keepAlive()
	return j, nil
}

// setupRetrying runs setup until it succeeds, for up to three times
// Timeout: servers that were just started elect their leaders first.
func (j *jsSpool) setupRetrying() error {
	deadline := time.Now().Add(3 * j.o.Timeout)
	for {
		err := j.setup()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		j.log.Info("spool: jetstream: not ready yet", "err", err)
		time.Sleep(500 * time.Millisecond)
	}
}

// setup creates or updates the two streams and the counting consumers.
func (j *jsSpool) setup() error {
	ctx, cancel := context.WithTimeout(context.Background(), j.o.Timeout/2)
	defer cancel()
	var err error
	j.st, err = j.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:              j.o.Stream,
		Description:       "edgehook delivery spool",
		Subjects:          j.subj.stream(),
		Retention:         jetstream.WorkQueuePolicy,
		MaxMsgsPerSubject: 1,
		Storage:           jetstream.FileStorage,
		Replicas:          j.o.Replicas,
		Duplicates:        jsDuplicates,
		AllowMsgSchedules: true,
		AllowMsgTTL:       true,
		AllowRollup:       true,
		AllowDirect:       true,
		RePublish:         &jetstream.RePublish{Source: j.subj.p + ".q.>", Destination: j.subj.p + ".w.>", HeadersOnly: true},
	})
	if err != nil {
		return fmt.Errorf("spool: jetstream: stream %s: %w", j.o.Stream, err)
	}
	j.refs, err = j.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:              j.o.Stream + "_REFS",
		Description:       "edgehook: deliveries still needing a shared body",
		Subjects:          []string{j.subj.p + ".n.>"},
		MaxMsgsPerSubject: 1,
		Storage:           jetstream.FileStorage,
		Replicas:          j.o.Replicas,
		Duplicates:        jsDuplicates,
		AllowMsgCounter:   true,
		AllowDirect:       true,
	})
	if err != nil {
		return fmt.Errorf("spool: jetstream: stream %s_REFS: %w", j.o.Stream, err)
	}
	for name, filter := range map[string]string{jsCountSched: j.subj.p + ".s.>", jsCountDead: j.subj.p + ".x.>"} {
		if _, err := j.st.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
			Durable: name, FilterSubject: filter, AckPolicy: jetstream.AckExplicitPolicy,
			Description: "edgehook: counts, never fetches",
		}); err != nil {
			return fmt.Errorf("spool: jetstream: consumer %s: %w", name, err)
		}
	}
	return nil
}

// jsDuplicates is the streams' window of message-id deduplication: two
// instances appending the same provider delivery at once, or a write
// repeated after a failure, store it once.
const jsDuplicates = 2 * time.Minute

// Consumers that only count what their filter holds (Stats).
const (
	jsCountSched = "count-s"
	jsCountDead  = "count-x"
)

// use runs f unless the spool is closed.
func (j *jsSpool) use(f func() error) error {
	j.closeMu.RLock()
	defer j.closeMu.RUnlock()
	if j.closed {
		return ErrClosed
	}
	return f()
}

// ctx returns a context bounded by the operation timeout, cancelled by
// Close.
func (j *jsSpool) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(j.run, j.o.Timeout)
}

// Stats implements Spool: counts as of the last poll, and this process's
// leases.
func (j *jsSpool) Stats() Stats {
	st := *j.stats.Load()
	j.mu.Lock()
	st.Leased = int64(len(j.leases))
	for _, q := range j.dests {
		st.Cached += int64(len(q.ready[0]) + len(q.ready[1]))
	}
	j.mu.Unlock()
	st.MaxBytes = j.o.MaxBytes
	return st
}

// Close implements Spool: the leases still held are handed back at once
// (due again, for any instance), and the connection closes. Closing
// again does nothing.
func (j *jsSpool) Close() error {
	j.closeMu.Lock()
	if j.closed {
		j.closeMu.Unlock()
		return nil
	}
	j.closed = true
	j.closeMu.Unlock()
	j.mu.Lock()
	j.closing.Store(true)
	if j.wake != nil {
		j.wake.Unsubscribe()
	}
	for _, q := range j.dests {
		q.cond.Broadcast()
	}
	j.mu.Unlock()
	j.stop()
	j.loops.Wait()
	j.mu.Lock()
	for token, l := range j.leases {
		l.msg.Nak()
		delete(j.leases, token)
	}
	for _, q := range j.dests {
		for cl := range q.ready {
			for _, l := range q.ready[cl] {
				l.msg.Nak()
			}
			q.ready[cl] = nil
		}
	}
	j.mu.Unlock()
	j.nc.FlushTimeout(time.Second)
	j.nc.Close()
	return nil
}

// jsError wraps an error of the servers with what was being done.
func jsError(what string, err error) error {
	return fmt.Errorf("spool: jetstream: %s: %w", what, err)
}

var _ Spool = (*jsSpool)(nil)
