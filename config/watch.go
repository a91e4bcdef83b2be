package config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/metadata"
)

const (
	minRetry = 100 * time.Millisecond
	maxRetry = time.Second
	// silentBeats is how many heartbeats without any watch response mean
	// the watch is broken.
	silentBeats = 4
)

var (
	errWatchClosed = errors.New("config: watch channel closed")
	errWatchSilent = errors.New("config: watch unresponsive")
)

// Start opens the watch on the prefix in the background and waits until it
// is established or ctx ends. The watch then keeps itself alive until
// Close. An error means the first watch was not established in time; the
// cache keeps trying (and serving from etcd) until Close.
//
// When the watch breaks, cached entries keep serving as the last known
// good values for at most StaleMax, and the watch is resumed from the last
// revision it applied: the changes made meanwhile replay and invalidate
// what they touch, so nothing needs clearing. Only when etcd has compacted
// that revision does the cache resynchronise: a watch from the current
// revision, and once it is in force (etcd answers again) the cache is
// cleared and refills from etcd. A stale entry is never served past
// StaleMax, and never once the watch is in force again without the
// changes it missed.
func (c *Cache) Start(ctx context.Context) error {
	lctx, cancel := context.WithCancel(context.Background())
	c.stop = cancel
	c.done = make(chan struct{})
	established := make(chan struct{})
	go c.run(lctx, established)
	select {
	case <-established:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("config: establishing the cache watch: %w", ctx.Err())
	}
}

// run keeps a watch open until ctx ends, resuming or resynchronising
// after each break.
func (c *Cache) run(ctx context.Context, established chan struct{}) {
	defer close(c.done)
	var once sync.Once
	delay := minRetry
	fresh := true // the next watch starts from the current revision and clears the cache once in force
	for {
		c.resyncs.Add(1)
		var err error
		var from int64
		if fresh {
			from, err = c.currentRevision(ctx)
		} else {
			from = c.appliedRevision()
		}
		if err == nil {
			err = c.watch(ctx, from, fresh, func() {
				once.Do(func() { close(established) })
				delay, fresh = minRetry, false
			})
		}
		c.lost()
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, rpctypes.ErrCompacted) {
			fresh = true
		}
		level := slog.LevelWarn
		if delay > minRetry { // logged when it broke; the retries are chatter
			level = slog.LevelDebug
		}
		c.log.Log(ctx, level, "config: cache watch interrupted; resuming", "err", err, "retry_in", delay,
			"resync", fresh, "serving_cached", c.serving.Load())
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, maxRetry)
		if c.beforeResync != nil {
			c.beforeResync()
		}
	}
}

// currentRevision reads the store's revision, the start of a fresh watch;
// installs of values read before it are refused from then on.
func (c *Cache) currentRevision(ctx context.Context) (int64, error) {
	gctx, cancel := context.WithTimeout(ctx, c.opts.FetchTimeout)
	defer cancel()
	resp, err := c.cli.Get(gctx, c.prefix, clientv3.WithCountOnly())
	if err != nil {
		return 0, fmt.Errorf("config: reading the current revision: %w", err)
	}
	rev := resp.Header.Revision
	c.mu.Lock()
	c.applied = max(c.applied, rev)
	c.mu.Unlock()
	return rev, nil
}

func (c *Cache) appliedRevision() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.applied
}

// lost records that the watch is no longer in force: cached entries stay
// served until StaleMax has passed since it broke.
func (c *Cache) lost() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.inForce.Load() {
		return
	}
	c.inForce.Store(false)
	c.staleSince = time.Now()
	c.breaks++
	n := c.breaks
	c.log.Warn("config: serving cached configuration while etcd is unavailable", "for_at_most", c.opts.StaleMax)
	time.AfterFunc(c.opts.StaleMax, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if !c.inForce.Load() && c.breaks == n {
			c.serving.Store(false)
			c.log.Error("config: cached configuration expired; etcd still unavailable", "stale_for", c.opts.StaleMax)
		}
	})
}

// inForceAgain records that the watch is established and synced; after a
// fresh start the cache is cleared first (it may hold values changed in
// the history etcd compacted).
func (c *Cache) inForceAgain(fresh bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if fresh {
		c.rc.Clear()
		c.clearSets()
	}
	if !c.staleSince.IsZero() {
		c.log.Info("config: cache watch in force again", "stale_for", time.Since(c.staleSince).Round(time.Millisecond), "resynchronised", fresh)
	}
	c.staleSince = time.Time{}
	c.inForce.Store(true)
	c.serving.Store(true)
}

// watch follows the prefix from revision from until the watch breaks. It
// requests a progress notification every heartbeat: etcd answers only while
// the watch is synced, so the first answer marks the watch in force, and
// silence means a dead stream.
func (c *Cache) watch(ctx context.Context, from int64, fresh bool, onReady func()) error {
	if f := c.nextFrom.Swap(0); f > 0 {
		from = f
	}
	// Its own gRPC stream (the client shares one per context metadata):
	// etcd answers a progress request only when every watcher of the
	// stream is synced, and another's must not silence this one.
	wctx, cancel := context.WithCancel(metadata.AppendToOutgoingContext(clientv3.WithRequireLeader(ctx), "edgehook-stream", "config-cache"))
	defer cancel()
	c.mu.Lock()
	c.watchCancel = cancel
	c.mu.Unlock()
	// From the revision itself, not the next: etcd answers progress
	// requests only for watches that started at or before the current
	// revision. Its events are skipped (handle).
	// Watch itself waits while etcd is unreachable; it must not outlast
	// the silence that ends a watch.
	guard := time.AfterFunc(silentBeats*c.opts.Heartbeat, cancel)
	defer guard.Stop()
	wch := c.cli.Watch(wctx, c.prefix+"/", clientv3.WithPrefix(), clientv3.WithRev(from), clientv3.WithCreatedNotify())
	tick := time.NewTicker(c.opts.Heartbeat)
	defer tick.Stop()
	var pending atomic.Bool
	last := time.Now()
	for {
		select {
		case resp, ok := <-wch:
			if !ok {
				return errWatchClosed
			}
			last = time.Now()
			guard.Stop()
			if err := c.handle(resp, from, fresh, onReady); err != nil {
				return err
			}
			if resp.Created {
				c.requestProgress(wctx, &pending)
			}
		case <-tick.C:
			if time.Since(last) > silentBeats*c.opts.Heartbeat {
				return errWatchSilent
			}
			c.requestProgress(wctx, &pending)
		}
	}
}

// handle applies one watch response of a watch from revision from,
// whose own events were applied already (a resumed watch) or are older
// than what the cache reads from then on (a fresh one).
func (c *Cache) handle(resp clientv3.WatchResponse, from int64, fresh bool, onReady func()) error {
	if err := resp.Err(); err != nil {
		return fmt.Errorf("config: watch: %w", err)
	}
	evs := resp.Events
	for len(evs) > 0 && evs[0].Kv.ModRevision <= from {
		evs = evs[1:]
	}
	if len(evs) > 0 {
		c.apply(evs)
	}
	if resp.IsProgressNotify() && !c.inForce.Load() {
		c.inForceAgain(fresh)
		onReady()
	}
	return nil
}

// requestProgress asks etcd for a progress notification on the watch
// stream, at most one request in flight.
func (c *Cache) requestProgress(wctx context.Context, pending *atomic.Bool) {
	if !pending.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer pending.Store(false)
		_ = c.cli.RequestProgress(wctx) // a failure shows as silence
	}()
}

// apply invalidates the entries the events touch and records the newest
// applied revision, atomically with respect to install.
func (c *Cache) apply(evs []*clientv3.Event) {
	kb := getKeyBuf()
	defer putKeyBuf(kb)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ev := range evs {
		kb.b = c.cacheKeyOf(kb.b[:0], ev.Kv.Key)
		if len(kb.b) > 0 {
			key := string(kb.b)
			c.rc.Del(kb.b)
			c.sf.Forget(key)
			if ev.Type == clientv3.EventTypeDelete {
				delete(c.lastGood, key)
			}
		}
		c.applySetEvent(ev)
		c.applied = max(c.applied, ev.Kv.ModRevision)
	}
}

// cacheKeyOf appends the cache key affected by a change of etcd key k, or
// nothing for a key outside the model.
func (c *Cache) cacheKeyOf(dst, k []byte) []byte {
	rest, ok := bytes.CutPrefix(k, []byte(c.prefix+"/envs/"))
	if !ok {
		return dst
	}
	p := bytes.Split(rest, []byte("/"))
	switch {
	case len(p) == 1:
		return appendCacheKey(dst, kindEnv, p[0])
	case len(p) == 3 && string(p[1]) == "integrations":
		return appendCacheKey(dst, kindInteg, p[0], p[2])
	case len(p) == 4 && string(p[1]) == "connections":
		return appendCacheKey(dst, kindConn, p[0], p[2], p[3])
	case len(p) == 6 && string(p[1]) == "routes":
		return appendCacheKey(dst, kindLookup, p[0], p[2], p[3], p[4])
	}
	return dst
}

// breakWatch cancels the current watch, as a broken connection would.
func (c *Cache) breakWatch() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.watchCancel != nil {
		c.watchCancel()
	}
}
