package config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

const (
	minRetry = 100 * time.Millisecond
	maxRetry = 5 * time.Second
	// silentBeats is how many heartbeats without any watch response mean
	// the watch is broken.
	silentBeats = 4
)

var (
	errWatchClosed = errors.New("config: watch channel closed")
	errWatchSilent = errors.New("config: watch unresponsive")
)

// Start opens the watch on the prefix in the background and waits until it
// is established or ctx ends. The watch then keeps itself alive until Close:
// when it is compacted, cancelled or broken the cache stops serving entries,
// is cleared and resynchronised from a fresh revision. An error means the
// first watch was not established in time; the cache keeps trying (and
// serving from etcd) until Close.
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

// run keeps a watch open until ctx ends, resynchronising after each break.
func (c *Cache) run(ctx context.Context, established chan struct{}) {
	defer close(c.done)
	var once sync.Once
	delay := minRetry
	onReady := func() {
		once.Do(func() { close(established) })
		delay = minRetry
	}
	for {
		rev, err := c.resync(ctx)
		if err == nil {
			// From rev itself, not rev+1: etcd answers progress requests
			// only for watches that started at or before the current
			// revision. Replaying rev only invalidates again.
			err = c.watch(ctx, rev, onReady)
		}
		c.ready.Store(false)
		if ctx.Err() != nil {
			return
		}
		c.log.Warn("config: cache watch interrupted; resynchronising", "err", err, "retry_in", delay)
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

// resync stops serving and installing, clears the cache and returns a fresh
// revision to watch from, from which installs are accepted again.
func (c *Cache) resync(ctx context.Context) (int64, error) {
	c.resyncs.Add(1)
	c.mu.Lock()
	c.ready.Store(false)
	c.accepting = false
	c.rc.Clear()
	c.mu.Unlock()
	gctx, cancel := context.WithTimeout(ctx, c.opts.FetchTimeout)
	defer cancel()
	resp, err := c.cli.Get(gctx, c.prefix, clientv3.WithCountOnly())
	if err != nil {
		return 0, fmt.Errorf("config: reading the current revision: %w", err)
	}
	rev := resp.Header.Revision
	c.mu.Lock()
	c.applied = rev
	c.accepting = true
	c.mu.Unlock()
	return rev, nil
}

// watch follows the prefix from revision from until the watch breaks. It
// requests a progress notification every heartbeat: etcd answers only while
// the watch is synced, so the first answer marks the cache ready, and
// silence means a dead stream.
func (c *Cache) watch(ctx context.Context, from int64, onReady func()) error {
	if f := c.nextFrom.Swap(0); f > 0 {
		from = f
	}
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	c.mu.Lock()
	c.watchCancel = cancel
	c.mu.Unlock()
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
			if err := c.handle(resp, onReady); err != nil {
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

// handle applies one watch response.
func (c *Cache) handle(resp clientv3.WatchResponse, onReady func()) error {
	if err := resp.Err(); err != nil {
		return fmt.Errorf("config: watch: %w", err)
	}
	if len(resp.Events) > 0 {
		c.apply(resp.Events)
	}
	if resp.IsProgressNotify() && !c.ready.Load() {
		c.ready.Store(true)
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
