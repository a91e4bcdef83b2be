package config

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
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

// connWrite is one connection change: the new value (nil to delete) and its
// index entries.
type connWrite struct {
	env, integ, id string
	val            []byte
	routes         []route
}

// PutConnection validates raw and stores it as connection id of integration
// integ, updating its routing index entries in the same transaction. The
// integration must exist (else an error wrapping ErrNotFound).
func (s *Store) PutConnection(ctx context.Context, env, integ, id string, raw []byte) (*Connection, error) {
	if err := checkNames(env, integ, id); err != nil {
		return nil, err
	}
	c, err := DecodeConnection(raw, id)
	if err != nil {
		return nil, err
	}
	routes, _ := routesOf(c.Config) // validated by DecodeConnection
	val, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("config: encoding connection: %w", err)
	}
	w := connWrite{env: env, integ: integ, id: id, val: val, routes: routes}
	if err := s.writeConn(ctx, w); err != nil {
		return nil, err
	}
	return c, nil
}

// DeleteConnection removes connection id of integration integ and its index
// entries in one transaction; a missing connection is an error wrapping
// ErrNotFound.
func (s *Store) DeleteConnection(ctx context.Context, env, integ, id string) error {
	if err := checkNames(env, integ, id); err != nil {
		return err
	}
	return s.writeConn(ctx, connWrite{env: env, integ: integ, id: id})
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

// writeConn applies w with optimistic concurrency: it reads the current
// value, derives the index entries to remove and add, and commits only if
// the connection did not change meanwhile; otherwise it backs off and
// retries, within ctx.
func (s *Store) writeConn(ctx context.Context, w connWrite) error {
	backoff := minTxnBackoff
	for range maxTxnAttempts {
		done, err := s.tryWriteConn(ctx, w)
		if done || err != nil {
			return err
		}
		t := time.NewTimer(backoff/2 + rand.N(backoff))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("config: connection %q: %w", w.id, ctx.Err())
		case <-t.C:
		}
		backoff = min(2*backoff, maxTxnBackoff)
	}
	return fmt.Errorf("config: connection %q: %w", w.id, errContended)
}

func (s *Store) tryWriteConn(ctx context.Context, w connWrite) (bool, error) {
	ck := connKey(s.prefix, w.env, w.integ, w.id)
	resp, err := s.cli.Get(ctx, ck)
	if err != nil {
		return false, fmt.Errorf("config: reading connection %q: %w", w.id, err)
	}
	var oldRev int64
	var old []route
	if len(resp.Kvs) > 0 {
		oldRev = resp.Kvs[0].ModRevision
		old = s.storedRoutes(resp.Kvs[0].Value, w.id)
	} else if w.val == nil {
		return true, fmt.Errorf("config: connection %q: %w", w.id, ErrNotFound)
	}
	conds := []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(ck), "=", oldRev)}
	ik := integKey(s.prefix, w.env, w.integ)
	if w.val != nil {
		conds = append(conds, clientv3.Compare(clientv3.Version(ik), ">", 0))
	}
	txn, err := s.cli.Txn(ctx).If(conds...).Then(s.connOps(ck, w, old)...).Commit()
	if err != nil {
		return false, fmt.Errorf("config: writing connection %q: %w", w.id, err)
	}
	if txn.Succeeded {
		return true, nil
	}
	return s.integGone(ctx, w, ik)
}

// integGone tells a failed transaction caused by a missing integration
// (final) from a concurrent change of the connection (retry).
func (s *Store) integGone(ctx context.Context, w connWrite, ik string) (bool, error) {
	if w.val == nil {
		return false, nil
	}
	resp, err := s.cli.Get(ctx, ik, clientv3.WithCountOnly())
	if err != nil {
		return false, fmt.Errorf("config: reading integration %q: %w", w.integ, err)
	}
	if resp.Count == 0 {
		return true, fmt.Errorf("config: integration %q: %w", w.integ, ErrNotFound)
	}
	return false, nil
}

// connOps are the operations of w: the connection put or delete, deletes of
// index entries only in old, puts of entries only in the new value.
func (s *Store) connOps(ck string, w connWrite, old []route) []clientv3.Op {
	have := make(map[route]bool, len(old))
	for _, r := range old {
		have[r] = true
	}
	want := make(map[route]bool, len(w.routes))
	ops := []clientv3.Op{clientv3.OpDelete(ck)}
	if w.val != nil {
		ops[0] = clientv3.OpPut(ck, string(w.val))
	}
	for _, r := range w.routes {
		want[r] = true
		if !have[r] {
			ops = append(ops, clientv3.OpPut(routeKey(s.prefix, w.env, w.integ, r, w.id), ""))
		}
	}
	for _, r := range old {
		if !want[r] {
			ops = append(ops, clientv3.OpDelete(routeKey(s.prefix, w.env, w.integ, r, w.id)))
		}
	}
	return ops
}

// storedRoutes are the index entries of a stored connection value. A value
// that no longer decodes (written by hand) has none we can derive; its
// entries are left for an operator to remove, and that is logged.
func (s *Store) storedRoutes(raw []byte, id string) []route {
	var c Connection
	if err := json.Unmarshal(raw, &c); err != nil {
		slog.Error("config: stored connection does not decode; its index entries are kept", "connection", id, "err", err)
		return nil
	}
	return routesOfAll(c.Config)
}
