package config

import (
	"context"
	"fmt"
	"strings"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// MaxList is the most objects one list call returns.
const MaxList = 1000

// Named is one stored object of a list, with its name. Value is nil when
// the stored value no longer decodes (it was not written through the
// Store); the list still names it.
type Named[T any] struct {
	Name  string
	Value T
}

// listOps bounds the gets of one transaction (etcd's default limit is 128).
const listOps = 100

// afterKey is the first key of a range that starts past the name after.
func afterKey(base, after string) string {
	if after == "" {
		return base
	}
	return base + after + "\x00"
}

// clampLimit bounds a list's limit to [1, MaxList].
func clampLimit(limit int) int { return max(1, min(limit, MaxList)) }

// ListEnvironments returns up to limit environments in name order, those
// whose name sorts after after. Environment keys have the environments'
// integrations, connections and routing entries below them, so the scan
// reads keys only and jumps past each environment's subtree.
func (s *Store) ListEnvironments(ctx context.Context, after string, limit int) ([]Named[*Environment], error) {
	limit = clampLimit(limit)
	base := s.prefix + "/envs/"
	end := clientv3.GetPrefixRangeEnd(base)
	start := afterKey(base, after)
	var names []string
	for len(names) < limit {
		resp, err := s.cli.Get(ctx, start, clientv3.WithRange(end), clientv3.WithKeysOnly(), clientv3.WithLimit(32))
		if err != nil {
			return nil, fmt.Errorf("config: listing environments: %w", err)
		}
		jumped := false
		for _, kv := range resp.Kvs {
			rest := string(kv.Key[len(base):])
			if i := strings.IndexByte(rest, '/'); i >= 0 {
				start = base + rest[:i] + "0" // '0' follows '/': past the subtree
				jumped = true
				break
			}
			names = append(names, rest)
			start = string(kv.Key) + "\x00"
			if len(names) == limit {
				break
			}
		}
		if !jumped && !resp.More {
			break
		}
	}
	out := make([]Named[*Environment], len(names))
	for i := 0; i < len(names); i += listOps {
		chunk := names[i:min(i+listOps, len(names))]
		ops := make([]clientv3.Op, len(chunk))
		for j, n := range chunk {
			ops[j] = clientv3.OpGet(envKey(s.prefix, n))
		}
		resp, err := s.cli.Txn(ctx).Then(ops...).Commit()
		if err != nil {
			return nil, fmt.Errorf("config: listing environments: %w", err)
		}
		for j, r := range resp.Responses {
			out[i+j].Name = chunk[j]
			if kvs := r.GetResponseRange().Kvs; len(kvs) > 0 {
				out[i+j].Value, _ = DecodeEnvironment(kvs[0].Value)
			}
		}
	}
	return out, nil
}

// ListIntegrations returns up to limit integrations of environment env in
// name order, after the name after; an unknown environment is an error
// wrapping ErrNotFound.
func (s *Store) ListIntegrations(ctx context.Context, env, after string, limit int) ([]Named[*Integration], error) {
	if !validName(env) {
		return nil, fmt.Errorf("config: environment %q: %w", env, ErrNotFound)
	}
	base := envKey(s.prefix, env) + "/integrations/"
	kvs, err := s.listUnder(ctx, "integrations", envKey(s.prefix, env), base, after, limit)
	if err != nil {
		return nil, fmt.Errorf("config: environment %q: %w", env, err)
	}
	out := make([]Named[*Integration], len(kvs))
	for i, kv := range kvs {
		out[i].Name = string(kv.Key[len(base):])
		out[i].Value, _ = DecodeIntegration(kv.Value)
	}
	return out, nil
}

// ListConnections returns up to limit connections of integration integ in
// id order, after the id after; an unknown integration is an error
// wrapping ErrNotFound. The connections' hook status is not read (GET one
// connection shows it).
func (s *Store) ListConnections(ctx context.Context, env, integ, after string, limit int) ([]Named[*Connection], error) {
	if !validName(env) || !validName(integ) {
		return nil, fmt.Errorf("config: integration %q: %w", integ, ErrNotFound)
	}
	base := envKey(s.prefix, env) + "/connections/" + integ + "/"
	kvs, err := s.listUnder(ctx, "connections", integKey(s.prefix, env, integ), base, after, limit)
	if err != nil {
		return nil, fmt.Errorf("config: integration %q: %w", integ, err)
	}
	out := make([]Named[*Connection], len(kvs))
	for i, kv := range kvs {
		id := string(kv.Key[len(base):])
		out[i].Name = id
		if c, err := DecodeConnection(kv.Value, id); err == nil {
			c.ConnectionID = id
			out[i].Value = c
		}
	}
	return out, nil
}

// listUnder reads up to limit keys under base after the name after, in
// one transaction with a check that parent exists (else ErrNotFound).
func (s *Store) listUnder(ctx context.Context, what, parent, base, after string, limit int) ([]*mvccpb.KeyValue, error) {
	resp, err := s.cli.Txn(ctx).Then(
		clientv3.OpGet(parent, clientv3.WithCountOnly()),
		clientv3.OpGet(afterKey(base, after), clientv3.WithRange(clientv3.GetPrefixRangeEnd(base)), clientv3.WithLimit(int64(clampLimit(limit)))),
	).Commit()
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", what, err)
	}
	if resp.Responses[0].GetResponseRange().Count == 0 {
		return nil, ErrNotFound
	}
	return resp.Responses[1].GetResponseRange().Kvs, nil
}
