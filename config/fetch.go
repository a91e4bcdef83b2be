package config

import (
	"context"
	"fmt"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// fetchFunc reads one entry from etcd and reports the store revision it
// read at.
type fetchFunc func(ctx context.Context) (e *entry, rev int64, err error)

// load runs fetch for key k, coalescing concurrent misses of the same key,
// and installs the result unless it may be stale. The fetch is not
// cancelled by ctx (others may share it) but by FetchTimeout (a tenth of
// it during an outage, which also makes its error wrap ErrOutage); ctx
// only ends the wait.
func (c *Cache) load(ctx context.Context, k []byte, fetch fetchFunc) (*entry, error) {
	key := string(k)
	ch := c.sf.DoChan(key, func() (any, error) {
		c.fetches.Add(1)
		timeout, outage := c.opts.FetchTimeout, c.serving.Load() && !c.inForce.Load()
		if outage {
			timeout /= 10
		}
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		e, rev, err := fetch(fctx)
		if err != nil {
			if outage {
				err = fmt.Errorf("%w: %w", ErrOutage, err)
			}
			return nil, err
		}
		if c.fetchHook != nil {
			c.fetchHook()
		}
		c.install(key, e, rev)
		return e, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*entry), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("config: waiting for etcd: %w", ctx.Err())
	}
}

// install caches e, read at revision rev, unless a watch event newer than
// rev was applied meanwhile (it may have invalidated what e shows).
// Dropping an install is always safe.
func (c *Cache) install(key string, e *entry, rev int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if rev >= c.applied {
		c.rc.Set([]byte(key), e, e.cost)
	}
}

// getKey reads one key: its value (nil if missing) and the store revision.
func (c *Cache) getKey(ctx context.Context, key string) (*mvccpb.KeyValue, int64, error) {
	resp, err := c.cli.Get(ctx, key)
	if err != nil {
		return nil, 0, fmt.Errorf("config: reading %s: %w", key, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, resp.Header.Revision, nil
	}
	return resp.Kvs[0], resp.Header.Revision, nil
}

func (c *Cache) missEnv(ctx context.Context, k []byte, env string) (*entry, error) {
	ck := string(k)
	return c.load(ctx, k, func(ctx context.Context) (*entry, int64, error) {
		kv, rev, err := c.getKey(ctx, envKey(c.prefix, env))
		if err != nil || kv == nil {
			return negEnv, rev, err
		}
		e, err := DecodeEnvironment(kv.Value)
		if err == nil {
			err = c.opts.Sealer.openEnvironment(string(kv.Key), e)
		}
		if err != nil {
			c.log.Error("config: stored environment is unusable", "environment", env, "revision", kv.ModRevision, "err", err)
			return c.lastGoodOr(ck, badEnv), rev, nil
		}
		return c.keepGood(ck, envEntry(provisionEnv(env, e)), kv.ModRevision, rev), rev, nil
	})
}

func (c *Cache) missInteg(ctx context.Context, k []byte, env, name string) (*entry, error) {
	ck := string(k)
	return c.load(ctx, k, func(ctx context.Context) (*entry, int64, error) {
		kv, rev, err := c.getKey(ctx, integKey(c.prefix, env, name))
		if err != nil || kv == nil {
			return negInteg, rev, err
		}
		in, err := DecodeIntegration(kv.Value)
		if err == nil {
			err = c.opts.Sealer.openIntegration(string(kv.Key), in)
		}
		var integ *Integ
		if err == nil {
			integ, err = ProvisionIntegration(env, name, in, c.prov)
		}
		if err == nil && c.opts.SecretFields != nil {
			integ.Credentials = c.opts.SecretFields(in.Provider)
		}
		if err != nil {
			c.log.Error("config: stored integration is unusable", "environment", env, "integration", name, "revision", kv.ModRevision, "err", err)
			return c.lastGoodOr(ck, badInteg), rev, nil
		}
		return c.keepGood(ck, integEntry(integ), kv.ModRevision, rev), rev, nil
	})
}

func (c *Cache) missConn(ctx context.Context, k []byte, env, integ, id string) (*entry, error) {
	return c.load(ctx, k, func(ctx context.Context) (*entry, int64, error) {
		kv, rev, err := c.getKey(ctx, connKey(c.prefix, env, integ, id))
		if err != nil || kv == nil {
			return negConn, rev, err
		}
		conn, err := DecodeConnection(kv.Value, id)
		if err != nil {
			c.log.Error("config: stored connection is unusable", "environment", env, "integration", integ, "connection", id, "revision", kv.ModRevision, "err", err)
			return badConn, rev, nil
		}
		if conn.Status == StatusDeleting { // unmatched, also when routed by id
			return negConn, rev, nil
		}
		return connEntry(provisionConn(id, conn)), rev, nil
	})
}

func (c *Cache) missLookup(ctx context.Context, k, env, integ []byte, field string, value []byte) (*entry, error) {
	pfx := string(appendRoutePrefix(nil, c.prefix, env, integ, field, value))
	return c.load(ctx, k, func(ctx context.Context) (*entry, int64, error) {
		resp, err := c.cli.Get(ctx, pfx, clientv3.WithPrefix(), clientv3.WithKeysOnly())
		if err != nil {
			return nil, 0, fmt.Errorf("config: reading routes %s: %w", pfx, err)
		}
		ids := make([]string, 0, len(resp.Kvs))
		for _, kv := range resp.Kvs {
			if id := kv.Key[len(pfx):]; validName(id) {
				ids = append(ids, string(id))
			}
		}
		return lookupEntry(ids), resp.Header.Revision, nil
	})
}

// keepGood records e, stored at mod revision mod and read at rev, as the
// last good value of key, and returns it.
func (c *Cache) keepGood(key string, e *entry, mod, rev int64) *entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	if g, ok := c.lastGood[key]; (!ok || g.rev < mod) && rev >= c.applied {
		c.lastGood[key] = goodVal{rev: mod, e: e}
	}
	return e
}

// lastGoodOr returns the last good value of key, or bad.
func (c *Cache) lastGoodOr(key string, bad *entry) *entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	if g, ok := c.lastGood[key]; ok {
		return g.e
	}
	return bad
}
