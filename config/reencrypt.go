package config

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// reencryptPage bounds the keys one read of Reencrypt returns.
const reencryptPage = 500

// Reencrypt rewrites every stored secret sealed with the Store's active
// key (seal.go): values in clear and values sealed with an older key
// (which the key file must still hold) alike. Each value is rewritten in
// a transaction conditioned on it being unchanged, and read again when it
// changed meanwhile, so it runs safely beside live gateways, which open
// either form. It reports how many values it rewrote.
func (s *Store) Reencrypt(ctx context.Context) (int, error) {
	if s.sealer == nil {
		return 0, errors.New("config: re-encrypting needs a secrets key file")
	}
	n := 0
	creds := map[string][]string{} // integration key → its credential fields
	for _, space := range []string{"/envs/", "/tasks/" + spaceOpen + "/", "/tasks/" + spaceDone + "/"} {
		err := s.walk(ctx, s.prefix+space, func(kv *mvccpb.KeyValue) error {
			for {
				val, ok, err := s.resealed(ctx, kv, creds)
				if err != nil || !ok {
					return err
				}
				txn, err := s.cli.Txn(ctx).
					If(clientv3.Compare(clientv3.ModRevision(string(kv.Key)), "=", kv.ModRevision)).
					Then(clientv3.OpPut(string(kv.Key), val)).
					Else(clientv3.OpGet(string(kv.Key))).Commit()
				if err != nil {
					return fmt.Errorf("config: rewriting %s: %w", kv.Key, err)
				}
				if txn.Succeeded {
					n++
					return nil
				}
				kvs := txn.Responses[0].GetResponseRange().Kvs
				if len(kvs) == 0 {
					return nil // removed meanwhile
				}
				kv = kvs[0]
			}
		})
		if err != nil {
			return n, err
		}
	}
	if ok, err := s.resealRouteKey(ctx); err != nil {
		return n, err
	} else if ok {
		n++
	}
	return n, nil
}

// walk calls f for every key under pfx, in pages.
func (s *Store) walk(ctx context.Context, pfx string, f func(*mvccpb.KeyValue) error) error {
	key, end := pfx, clientv3.GetPrefixRangeEnd(pfx)
	for {
		resp, err := s.cli.Get(ctx, key, clientv3.WithRange(end), clientv3.WithLimit(reencryptPage))
		if err != nil {
			return fmt.Errorf("config: reading %s: %w", pfx, err)
		}
		for _, kv := range resp.Kvs {
			if err := f(kv); err != nil {
				return err
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return nil
		}
		key = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// resealed returns the value of kv with its secrets sealed with the
// active key, and whether that differs from what is stored.
func (s *Store) resealed(ctx context.Context, kv *mvccpb.KeyValue, creds map[string][]string) (string, bool, error) {
	k := string(kv.Key)
	if rest, ok := bytes.CutPrefix(kv.Key, []byte(s.prefix+"/tasks/")); ok && bytes.Count(rest, []byte("/")) == 5 {
		t, err := s.decodeTask(kv)
		if err != nil || t == nil || t.State == nil {
			return "", false, err
		}
		return s.changed(kv, s.sealer.sealTask(t))
	}
	p := bytes.Split(bytes.TrimPrefix(kv.Key, []byte(s.prefix+"/envs/")), []byte("/"))
	switch {
	case len(p) == 1:
		e, err := s.decodeStoredEnvironment(k, kv.Value)
		if err != nil {
			return "", false, fmt.Errorf("config: %s: %w", k, err)
		}
		val, err := encodeJSON("environment", s.sealer.sealEnvironment(k, e))
		if err != nil {
			return "", false, err
		}
		return s.changed(kv, val)
	case len(p) == 3 && string(p[1]) == "integrations":
		in, err := s.decodeStoredIntegration(k, kv.Value)
		if err != nil {
			return "", false, fmt.Errorf("config: %s: %w", k, err)
		}
		val, err := encodeJSON("integration", s.sealer.sealIntegration(k, in))
		if err != nil {
			return "", false, err
		}
		return s.changed(kv, val)
	case len(p) == 4 && string(p[1]) == "connections":
		cred, err := s.credentialsOf(ctx, string(p[0]), string(p[2]), creds)
		if err != nil {
			return "", false, err
		}
		var c Connection
		if err := json.Unmarshal(kv.Value, &c); err != nil {
			return "", false, nil // written by hand; left as it is
		}
		if err := s.sealer.openConnection(k, &c); err != nil {
			return "", false, fmt.Errorf("config: %s: %w", k, err)
		}
		val, err := encodeJSON("connection", s.sealer.sealConnection(k, &c, cred))
		if err != nil {
			return "", false, err
		}
		return s.changed(kv, val)
	}
	return "", false, nil
}

// changed reports val unless it seals the same secrets as kv's value
// with the same key (sealing is randomised, so compare what it opens to).
func (s *Store) changed(kv *mvccpb.KeyValue, val string) (string, bool, error) {
	if sameSealing(string(kv.Value), val, s.sealer.Active()) {
		return "", false, nil
	}
	return val, true, nil
}

// sameSealing reports whether stored and next have their sealed values in
// the same places, all sealed with key active: nothing to rewrite.
func sameSealing(stored, next, active string) bool {
	return countSealed(stored, active) == countSealed(next, active) && countSealed(stored, "") == countSealed(next, "")
}

// countSealed counts the values sealed with key id in a stored value
// (any key for id "").
func countSealed(v, id string) int {
	if id != "" {
		id += ":"
	}
	return strings.Count(v, sealPrefix+id)
}

// credentialsOf returns the credential fields of an integration, read
// once per run.
func (s *Store) credentialsOf(ctx context.Context, env, integ string, memo map[string][]string) ([]string, error) {
	k := integKey(s.prefix, env, integ)
	if f, ok := memo[k]; ok {
		return f, nil
	}
	resp, err := s.cli.Get(ctx, k)
	if err != nil {
		return nil, fmt.Errorf("config: reading %s: %w", k, err)
	}
	var f []string
	if len(resp.Kvs) > 0 {
		var in Integration
		if json.Unmarshal(resp.Kvs[0].Value, &in) == nil {
			f = s.credentialFields(in.Provider)
		}
	}
	memo[k] = f
	return f, nil
}

// resealRouteKey seals the route key with the active key, if it exists
// and is not.
func (s *Store) resealRouteKey(ctx context.Context) (bool, error) {
	k := routeKeyPath(s.prefix)
	resp, err := s.cli.Get(ctx, k)
	if err != nil || len(resp.Kvs) == 0 {
		return false, err
	}
	kv := resp.Kvs[0]
	if sealedBy(string(kv.Value)) == s.sealer.Active() {
		return false, nil
	}
	plain, err := s.sealer.open(sealAAD(k, "route_key"), string(kv.Value))
	if err != nil {
		return false, err
	}
	txn, err := s.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(k), "=", kv.ModRevision)).
		Then(clientv3.OpPut(k, s.sealer.seal(sealAAD(k, "route_key"), plain))).Commit()
	if err != nil {
		return false, fmt.Errorf("config: rewriting the route key: %w", err)
	}
	return txn.Succeeded, nil
}
