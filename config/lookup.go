package config

import (
	"context"
	"errors"
)

// Environment returns the provisioned environment env. A missing
// environment is an error wrapping ErrNotFound; a stored value that is
// unusable, one wrapping ErrUnusable; anything else is etcd failing. env is
// not retained. A cache hit does not allocate.
func (c *Cache) Environment(ctx context.Context, env []byte) (*Env, error) {
	if !validName(env) {
		return nil, errEnvNotFound
	}
	kb := getKeyBuf()
	defer putKeyBuf(kb)
	kb.b = appendEnvCK(kb.b[:0], env)
	e, ok := c.hit(kb.b)
	if !ok {
		var err error
		if e, err = c.missEnv(ctx, kb.b, string(env)); err != nil {
			return nil, err
		}
	}
	return e.env, e.err
}

// Integration returns the provisioned integration integ of environment env,
// with its provider Instance. A stored value that fails to decode or
// provision is logged and the last good value stays in force; without one
// the error wraps ErrUnusable (not ErrNotFound). Errors are otherwise as for
// Environment. The arguments are not retained; a hit does not allocate.
func (c *Cache) Integration(ctx context.Context, env, integ []byte) (*Integ, error) {
	if !validName(env) || !validName(integ) {
		return nil, errIntegNotFound
	}
	kb := getKeyBuf()
	defer putKeyBuf(kb)
	kb.b = appendIntegCK(kb.b[:0], env, integ)
	e, ok := c.hit(kb.b)
	if !ok {
		var err error
		if e, err = c.missInteg(ctx, kb.b, string(env), string(integ)); err != nil {
			return nil, err
		}
	}
	return e.integ, e.err
}

// Connection returns connection id of integration integ, for routing by id.
// Errors are as for Environment; the arguments are not retained.
func (c *Cache) Connection(ctx context.Context, env, integ, id []byte) (*Conn, error) {
	if !validName(env) || !validName(integ) || !validName(id) {
		return nil, errConnNotFound
	}
	kb := getKeyBuf()
	defer putKeyBuf(kb)
	kb.b = appendConnCK(kb.b[:0], env, integ, id)
	e, ok := c.hit(kb.b)
	if !ok {
		var err error
		if e, err = c.missConn(ctx, kb.b, string(env), string(integ), string(id)); err != nil {
			return nil, err
		}
	}
	return e.conn, e.err
}

// Lookup appends to dst the connections of integration integ whose config
// field has the text value (a JSON number matches its literal, a string its
// content), skipping connections already in dst, and returns the extended
// slice. No match is not an error, and is cached like a match. A matching
// connection whose stored value is unusable is an error wrapping
// ErrUnusable (logged when loaded), so the event is not taken as
// unmatched. The arguments are not retained; a hit allocates nothing when
// dst has room.
//
// Where field holds a credential of the integration's provider (see
// Integ.Credential) the value is looked up by its keyed hash, and a value
// no connection has is answered from memory, without reading etcd
// (credroute.go).
func (c *Cache) Lookup(ctx context.Context, env, integ []byte, field string, value []byte, dst []*Conn) ([]*Conn, error) {
	if !validName(env) || !validName(integ) {
		return dst, nil
	}
	ig, err := c.Integration(ctx, env, integ)
	if err != nil {
		return dst, err
	}
	kb := getKeyBuf()
	defer putKeyBuf(kb)
	if ig.Credential(field) {
		return c.lookupCredential(ctx, kb, env, integ, field, value, dst)
	}
	kb.b = appendLookupCK(kb.b[:0], env, integ, field, value)
	return c.lookupKey(ctx, kb, env, integ, field, value, dst)
}

// lookupKey is Lookup of the entry keyed kb.b.
func (c *Cache) lookupKey(ctx context.Context, kb *keyBuf, env, integ []byte, field string, value []byte, dst []*Conn) ([]*Conn, error) {
	e, ok := c.hit(kb.b)
	if !ok {
		var err error
		if e, err = c.missLookup(ctx, kb.b, env, integ, field, value); err != nil {
			return dst, err
		}
	}
	return c.resolve(ctx, kb, env, integ, e.ids, dst)
}

// resolve appends the connections with the given ids, reusing kb for keys.
func (c *Cache) resolve(ctx context.Context, kb *keyBuf, env, integ []byte, ids []string, dst []*Conn) ([]*Conn, error) {
	for _, id := range ids {
		if hasConn(dst, id) {
			continue
		}
		kb.b = appendConnCK(kb.b[:0], env, integ, id)
		e, ok := c.hit(kb.b)
		if !ok {
			var err error
			if e, err = c.missConn(ctx, kb.b, string(env), string(integ), id); err != nil {
				return dst, err
			}
		}
		switch {
		case e.conn != nil:
			dst = append(dst, e.conn)
		case e.err != nil && !errors.Is(e.err, ErrNotFound):
			// Unusable: answering without it would treat its events as
			// unmatched; the provider retries while an operator fixes it.
			return dst, e.err
		}
	}
	return dst, nil
}

func hasConn(cs []*Conn, id string) bool {
	for _, c := range cs {
		if c.ID == id {
			return true
		}
	}
	return false
}

// hit returns the cached entry for k, if the cache is in force.
func (c *Cache) hit(k []byte) (*entry, bool) {
	if !c.serving.Load() {
		c.misses.Add(1)
		return nil, false
	}
	e, ok := c.rc.Get(k)
	if ok {
		c.hits.Add(1)
	} else {
		c.misses.Add(1)
	}
	return e, ok
}
