package config

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/edgehook/edgehook/provider"
)

// maxTxnAttempts bounds the optimistic retries of a connection write that
// keeps losing to concurrent writers; between attempts it backs off a
// random while, doubling from minTxnBackoff up to maxTxnBackoff, so that
// contenders spread out instead of colliding again.
const (
	maxTxnAttempts = 64
	minTxnBackoff  = time.Millisecond
	maxTxnBackoff  = 50 * time.Millisecond
)

// errContended is returned when a connection write kept conflicting.
var errContended = errors.New("config: connection write conflicted too many times")

// PutConnection validates raw and stores it as connection id of integration
// integ, updating its routing index entries in the same transaction. The
// integration must exist (else an error wrapping ErrNotFound).
//
// Creating a connection whose provider has a post-creation hook (SPEC §9)
// stores its hook task in the same transaction, unless the connection
// already has one of the config fields the hook sets; the returned value
// then shows the hook pending. An update runs no hook and keeps the stored
// values of those fields unless raw names them. A connection being deleted
// cannot be written (ErrConflict).
func (s *Store) PutConnection(ctx context.Context, env, integ, id string, raw []byte) (*Connection, error) {
	if err := checkNames(env, integ, id); err != nil {
		return nil, err
	}
	c, err := DecodeConnection(raw, id)
	if err != nil {
		return nil, err
	}
	if c.Status != "" || c.Hooks != nil {
		return nil, invalidf("config: connection: status and hooks are set by the gateway, not written")
	}
	var out *Connection
	err = s.retryConn(ctx, id, func(ctx context.Context) (bool, error) {
		st, err := s.readConn(ctx, env, integ, id)
		if err != nil {
			return false, err
		}
		if st.integKV == nil {
			return true, fmt.Errorf("config: integration %q: %w", integ, ErrNotFound)
		}
		next, ops, err := s.putOps(st, c)
		if err != nil {
			return true, err
		}
		txn, err := s.cli.Txn(ctx).If(s.unchanged(st)...).Then(ops...).Commit()
		if err != nil {
			return false, fmt.Errorf("config: writing connection %q: %w", id, err)
		}
		out = next
		return txn.Succeeded, nil
	})
	return out, err
}

// putOps derives the connection to store from the submitted c and the
// state st, and the operations that store it.
func (s *Store) putOps(st *connState, c *Connection) (*Connection, []clientv3.Op, error) {
	if st.conn != nil && st.conn.Status == StatusDeleting {
		return nil, nil, fmt.Errorf("config: connection %q is being deleted: %w", st.id, ErrConflict)
	}
	hooks, _, err := s.hooks(st)
	if err != nil {
		return nil, nil, err
	}
	next := *c
	next.Config = maps.Clone(c.Config)
	var task *Task
	switch {
	case st.connKV == nil:
		if hooks.PostCreation && !hasAny(c.Config, hooks.Fields) {
			task = newTask(st.env, st.integ, st.id, provider.PostConnectionCreation, time.Now())
			next.Hooks = map[string]*HookStatus{task.Hook: task.view()}
		}
	case st.conn != nil:
		for _, f := range hooks.Fields {
			if v, stored := st.conn.Config[f]; stored && !has(c.Config, f) {
				if next.Config == nil {
					next.Config = map[string]json.RawMessage{}
				}
				next.Config[f] = v
			}
		}
		next.Hooks = st.hookView()
	}
	routes, err := routesOf(next.Config, st.cred, st.hash)
	if err != nil {
		return nil, nil, err
	}
	val, err := s.storedValue(st, &next)
	if err != nil {
		return nil, nil, err
	}
	ops := s.connOps(st, val, routes)
	if task != nil {
		ops = append(ops, clientv3.OpPut(task.key(s.prefix, spaceOpen), s.sealer.sealTask(task)))
	}
	return &next, ops, nil
}

func has(m map[string]json.RawMessage, k string) bool {
	_, ok := m[k]
	return ok
}

func hasAny(m map[string]json.RawMessage, keys []string) bool {
	for _, k := range keys {
		if has(m, k) {
			return true
		}
	}
	return false
}

// DeleteConnection removes connection id of integration integ at once,
// with its index entries and hook tasks, in one transaction, skipping any
// pre-deletion hook; a missing connection is an error wrapping ErrNotFound.
// BeginDeleteConnection is the deletion that runs the hook.
func (s *Store) DeleteConnection(ctx context.Context, env, integ, id string) error {
	if err := checkNames(env, integ, id); err != nil {
		return err
	}
	return s.retryConn(ctx, id, func(ctx context.Context) (bool, error) {
		st, err := s.readConn(ctx, env, integ, id)
		if err != nil {
			return false, err
		}
		if st.connKV == nil {
			return true, fmt.Errorf("config: connection %q: %w", id, ErrNotFound)
		}
		txn, err := s.cli.Txn(ctx).If(s.unchanged(st)...).Then(s.removeOps(st)...).Commit()
		if err != nil {
			return false, fmt.Errorf("config: deleting connection %q: %w", id, err)
		}
		return txn.Succeeded, nil
	})
}

func checkNames(env, integ, id string) error {
	if err := checkName("environment", env); err != nil {
		return err
	}
	if err := checkName("integration", integ); err != nil {
		return err
	}
	return checkName("connection", id)
}

// retryConn runs try, an optimistic read-and-commit of connection id,
// until it reports done or fails; between conflicts it backs off and
// retries, within ctx.
func (s *Store) retryConn(ctx context.Context, id string, try func(context.Context) (done bool, err error)) error {
	backoff := minTxnBackoff
	for range maxTxnAttempts {
		done, err := try(ctx)
		if done || err != nil {
			return err
		}
		t := time.NewTimer(backoff/2 + rand.N(backoff))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("config: connection %q: %w", id, ctx.Err())
		case <-t.C:
		}
		backoff = min(2*backoff, maxTxnBackoff)
	}
	return fmt.Errorf("config: connection %q: %w", id, errContended)
}

// connOps are the operations that store val as the connection of st with
// index entries routes: the put, deletes of entries only in the stored
// value, puts of entries only in the new one.
func (s *Store) connOps(st *connState, val string, routes []route) []clientv3.Op {
	old := st.routes()
	have := make(map[route]bool, len(old))
	for _, r := range old {
		have[r] = true
	}
	want := make(map[route]bool, len(routes))
	ops := []clientv3.Op{clientv3.OpPut(connKey(s.prefix, st.env, st.integ, st.id), val)}
	for _, r := range routes {
		want[r] = true
		// A hashed entry is written again: the stored one may be the
		// clear form from before hashing (plainCredentialRoutes).
		if !have[r] || r.value[0] == '~' && len(r.value) == hashedLen {
			ops = append(ops, clientv3.OpPut(routeKey(s.prefix, st.env, st.integ, r, st.id), ""))
		}
	}
	gone := map[route]bool{}
	for _, r := range append(old, st.plainCredentialRoutes()...) {
		if !want[r] && !gone[r] {
			gone[r] = true
			ops = append(ops, clientv3.OpDelete(routeKey(s.prefix, st.env, st.integ, r, st.id)))
		}
	}
	return ops
}

// storedRoutes are the index entries of a stored connection value that
// st.conn could not hold. A value that no longer decodes (written by
// hand) has none we can derive; its entries are left for an operator to
// remove, and that is logged.
func (st *connState) storedRoutes() []route {
	var c Connection
	if err := json.Unmarshal(st.connKV.Value, &c); err != nil {
		slog.Error("config: stored connection does not decode; its index entries are kept", "connection", st.id, "err", err)
		return nil
	}
	return routesOfAll(c.Config, st.cred, st.hash)
}
