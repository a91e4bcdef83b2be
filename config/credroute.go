package config

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"sync"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Credential routing values (SPEC §3, §7). Where the value an event is
// routed by is itself the credential (Streak's token: the connection
// config fields a provider names as credentials), the routing index holds
// a keyed hash of it, never the value:
//
//	{prefix}/envs/{env}/routes/{integration}/{field}/~{32 hex}/{id}
//
// the first 16 bytes of HMAC-SHA256(route key, value). The route key is
// random, made once per cluster and kept at {prefix}/meta/route-key
// (sealed when a Sealer is configured). And every gateway keeps in memory
// the set of those hashes per integration and field, loaded once and kept
// up to date by the cache's watch, so that an unknown value is answered
// without reading etcd: a flood of random tokens costs no etcd read each.

// routeKeyPath is the etcd key of the route key.
func routeKeyPath(prefix string) string { return prefix + "/meta/route-key" }

// hashedLen is the length of a hashed routing value: "~" and 32 hex digits.
const hashedLen = 33

// routeHasher computes the index values of credentials.
type routeHasher struct {
	pool sync.Pool // of hash.Hash keyed with the route key
}

func newRouteHasher(key []byte) *routeHasher {
	h := &routeHasher{}
	h.pool.New = func() any { return hmac.New(sha256.New, key) }
	return h
}

// appendHash appends the index value of credential v. It does not
// allocate when dst has room.
func (h *routeHasher) appendHash(dst, v []byte) []byte {
	m := h.pool.Get().(hash.Hash)
	m.Reset()
	m.Write(v)
	var sum [sha256.Size]byte
	m.Sum(sum[:0])
	h.pool.Put(m)
	dst = append(dst, '~')
	return hex.AppendEncode(dst, sum[:16])
}

// setHash is the 64 bits of a hashed index value a value set keeps; ok is
// false for a value that is not hashed.
func setHash(v []byte) (uint64, bool) {
	if len(v) != hashedLen || v[0] != '~' {
		return 0, false
	}
	var b [8]byte
	if _, err := hex.Decode(b[:], v[1:17]); err != nil {
		return 0, false
	}
	return binary.BigEndian.Uint64(b[:]), true
}

// loadRouteKey returns the cluster's route key, creating it if there is
// none yet (of two gateways racing, one creates it and both read it).
func loadRouteKey(ctx context.Context, cli *clientv3.Client, prefix string, sl *Sealer) ([]byte, error) {
	k := routeKeyPath(prefix)
	var fresh [32]byte
	rand.Read(fresh[:])
	val := sl.seal(sealAAD(k, "route_key"), base64.StdEncoding.EncodeToString(fresh[:]))
	resp, err := cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(k), "=", 0)).
		Then(clientv3.OpPut(k, val)).
		Else(clientv3.OpGet(k)).
		Commit()
	if err != nil {
		return nil, fmt.Errorf("config: reading the route key: %w", err)
	}
	if resp.Succeeded {
		return fresh[:], nil
	}
	kvs := resp.Responses[0].GetResponseRange().Kvs
	if len(kvs) == 0 {
		return nil, fmt.Errorf("config: the route key vanished")
	}
	plain, err := sl.open(sealAAD(k, "route_key"), string(kvs[0].Value))
	if err != nil {
		return nil, err
	}
	key, err := base64.StdEncoding.DecodeString(plain)
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("config: the stored route key is malformed")
	}
	return key, nil
}

// hasher returns the Store's route hasher, reading the route key once.
func (s *Store) hasher(ctx context.Context) (*routeHasher, error) {
	s.hmu.Lock()
	defer s.hmu.Unlock()
	if s.rh != nil {
		return s.rh, nil
	}
	key, err := loadRouteKey(ctx, s.cli, s.prefix, s.sealer)
	if err != nil {
		return nil, err
	}
	s.rh = newRouteHasher(key)
	return s.rh, nil
}

// MigrateRoutes replaces the index entries of credential fields written
// in clear (before they were hashed) by their hashed form, one connection
// at a time, in transactions conditioned on the connection being
// unchanged. It reports how many connections it rewrote; with nothing to
// do it costs one read per integration whose provider has credential
// fields.
func (s *Store) MigrateRoutes(ctx context.Context) (int, error) {
	if s.secretFields == nil {
		return 0, nil
	}
	type conn struct{ env, integ, id string }
	var todo []conn
	err := s.walk(ctx, s.prefix+"/envs/", func(kv *mvccpb.KeyValue) error {
		p := bytes.Split(bytes.TrimPrefix(kv.Key, []byte(s.prefix+"/envs/")), []byte("/"))
		if len(p) != 3 || string(p[1]) != "integrations" {
			return nil
		}
		var in Integration
		if json.Unmarshal(kv.Value, &in) != nil {
			return nil
		}
		for _, f := range s.credentialFields(in.Provider) {
			pfx := string(appendRoutePrefix(nil, s.prefix, p[0], p[2], f, nil))
			pfx = pfx[:len(pfx)-1]
			resp, err := s.cli.Get(ctx, pfx, clientv3.WithPrefix(), clientv3.WithKeysOnly())
			if err != nil {
				return fmt.Errorf("config: reading routes: %w", err)
			}
			for _, rk := range resp.Kvs {
				tail := rk.Key[len(pfx):]
				if _, hashed := setHash(routeValue(tail)); !hashed {
					todo = append(todo, conn{string(p[0]), string(p[2]), string(tail[bytes.LastIndexByte(tail, '/')+1:])})
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range todo {
		err := s.retryConn(ctx, c.id, func(ctx context.Context) (bool, error) {
			st, err := s.readConn(ctx, c.env, c.integ, c.id)
			if err != nil || st.conn == nil {
				return true, err
			}
			routes := st.routes()
			txn, err := s.cli.Txn(ctx).If(s.unchanged(st)...).
				Then(s.connOps(st, string(st.connKV.Value), routes)...).Commit()
			if err != nil {
				return false, fmt.Errorf("config: rewriting the routes of %q: %w", c.id, err)
			}
			return txn.Succeeded, nil
		})
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
