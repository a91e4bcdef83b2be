package config

import (
	"bytes"
	"context"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// credSet is what a gateway knows of the credential routing values of one
// integration's field (credroute.go): the hashes of its index entries.
// While it loads, the watch's events for it queue in pending; once loaded
// it is kept by the watch, and a value it lacks is unknown without a read.
type credSet struct {
	ready   bool
	pending []credEvent
	counts  map[uint64]int32 // entries per hash (two connections may share a token)
	retry   time.Time        // after a failed load, not before
}

type credEvent struct {
	rev int64
	h   uint64
	del bool
}

// credSetPage bounds the index keys one read of a load returns.
const credSetPage = 10000

// lookupCredential resolves a credential routing value (see Lookup): the
// value is replaced by its hash, and a value the integration's set lacks
// is answered without reading etcd.
func (c *Cache) lookupCredential(ctx context.Context, kb *keyBuf, env, integ []byte, field string, value []byte, dst []*Conn) ([]*Conn, error) {
	h, err := c.routeHasher(ctx)
	if err != nil {
		return dst, err
	}
	var hb [hashedLen]byte
	hv := h.appendHash(hb[:0], value)
	kb.b = appendLookupCK(kb.b[:0], env, integ, field, nil) // the set's key: the lookup key without a value
	if !c.credKnown(kb.b, env, integ, field, hv) {
		return dst, nil
	}
	kb.b = appendLookupCK(kb.b[:0], env, integ, field, hv)
	return c.lookupKey(ctx, kb, env, integ, field, hv, dst)
}

// credKnown reports whether hashed value hv may be in the set named sk,
// starting its load when there is none yet.
func (c *Cache) credKnown(sk, env, integ []byte, field string, hv []byte) bool {
	hash, _ := setHash(hv)
	c.setsMu.RLock()
	s := c.sets[string(sk)]
	known := s == nil || !s.ready || s.counts[hash] > 0
	load := s == nil || (!s.ready && s.pending == nil && time.Now().After(s.retry))
	c.setsMu.RUnlock()
	if load && c.inForce.Load() {
		c.startSet(string(sk), string(env), string(integ), field)
	}
	return known
}

// startSet registers set sk and loads it in the background.
func (c *Cache) startSet(sk, env, integ, field string) {
	c.setsMu.Lock()
	if s := c.sets[sk]; s != nil && (s.ready || s.pending != nil || time.Now().Before(s.retry)) {
		c.setsMu.Unlock()
		return
	}
	s := &credSet{pending: []credEvent{}}
	c.sets[sk] = s
	c.setsMu.Unlock()
	go c.loadSet(s, sk, env, integ, field)
}

// loadSet reads the index entries of set s, named sk, then merges the
// events the watch queued meanwhile (those after the read's revision).
func (c *Cache) loadSet(s *credSet, sk, env, integ, field string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*c.opts.FetchTimeout)
	defer cancel()
	pfx := string(appendRoutePrefix(nil, c.prefix, []byte(env), []byte(integ), field, nil))
	pfx = pfx[:len(pfx)-1] // …/{field}/
	counts := map[uint64]int32{}
	key, end := pfx, clientv3.GetPrefixRangeEnd(pfx)
	var rev int64
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithKeysOnly(), clientv3.WithLimit(credSetPage)}
		if rev > 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		resp, err := c.cli.Get(ctx, key, opts...)
		if err != nil {
			c.log.Warn("config: loading credential routing values failed; lookups read etcd", "environment", env, "integration", integ, "err", err)
			c.setsMu.Lock()
			if c.sets[sk] == s {
				c.sets[sk] = &credSet{retry: time.Now().Add(5 * time.Second)}
			}
			c.setsMu.Unlock()
			return
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		for _, kv := range resp.Kvs {
			if h, ok := setHash(routeValue(kv.Key[len(pfx):])); ok {
				counts[h]++
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			break
		}
		key = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
	c.setsMu.Lock()
	defer c.setsMu.Unlock()
	if c.sets[sk] != s { // cleared meanwhile (a resync)
		return
	}
	for _, ev := range s.pending {
		if ev.rev > rev {
			countCred(counts, ev)
		}
	}
	s.counts, s.pending, s.ready = counts, nil, true
}

// routeValue returns the value segment of an index key's tail
// ({value}/{id}).
func routeValue(tail []byte) []byte {
	if i := bytes.IndexByte(tail, '/'); i >= 0 {
		return tail[:i]
	}
	return nil
}

func countCred(counts map[uint64]int32, ev credEvent) {
	if !ev.del {
		counts[ev.h]++
		return
	}
	if counts[ev.h]--; counts[ev.h] <= 0 {
		delete(counts, ev.h)
	}
}

// applySetEvent applies a watch event to the credential set its key
// belongs to, if any; c.mu is held.
func (c *Cache) applySetEvent(ev *clientv3.Event) {
	if ev.Type == clientv3.EventTypePut && !ev.IsCreate() {
		return // an index entry rewritten: counted once
	}
	rest, ok := bytes.CutPrefix(ev.Kv.Key, []byte(c.prefix+"/envs/"))
	if !ok {
		return
	}
	p := bytes.Split(rest, []byte("/"))
	if len(p) != 6 || string(p[1]) != "routes" {
		return
	}
	h, ok := setHash(p[4])
	if !ok {
		return
	}
	sk := appendCacheKey(nil, kindLookup, p[0], p[2], p[3], nil)
	c.setsMu.Lock()
	defer c.setsMu.Unlock()
	s := c.sets[string(sk)]
	switch {
	case s == nil:
	case s.ready:
		countCred(s.counts, credEvent{h: h, del: ev.Type == clientv3.EventTypeDelete})
	case s.pending != nil:
		s.pending = append(s.pending, credEvent{rev: ev.Kv.ModRevision, h: h, del: ev.Type == clientv3.EventTypeDelete})
	}
}

// clearSets forgets every credential set (after a resynchronisation: the
// watch missed events); they load again when next needed.
func (c *Cache) clearSets() {
	c.setsMu.Lock()
	clear(c.sets)
	c.setsMu.Unlock()
}

// routeHasher returns the cache's route hasher, reading the route key
// once.
func (c *Cache) routeHasher(ctx context.Context) (*routeHasher, error) {
	if h := c.rh.Load(); h != nil {
		return h, nil
	}
	c.hmu.Lock()
	defer c.hmu.Unlock()
	if h := c.rh.Load(); h != nil {
		return h, nil
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.opts.FetchTimeout)
	defer cancel()
	key, err := loadRouteKey(fctx, c.cli, c.prefix, c.opts.Sealer)
	if err != nil {
		return nil, err
	}
	h := newRouteHasher(key)
	c.rh.Store(h)
	return h, nil
}
