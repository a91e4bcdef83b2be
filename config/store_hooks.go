package config

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/edgehook/edgehook/provider"
)

// BeginDeleteConnection deletes connection id of integration integ. When
// its provider has a pre-deletion hook (SPEC §9) it marks the connection
// deleting, removes its routing index entries and stores the hook's task,
// in one transaction, and reports pending with the marked connection; the
// task worker removes it once the hook succeeded. A creation hook that no
// worker holds is cancelled then. Without that hook the connection is
// removed at once (pending false). A connection already being deleted is
// left as it is (pending true). A missing one is an error wrapping
// ErrNotFound.
func (s *Store) BeginDeleteConnection(ctx context.Context, env, integ, id string) (c *Connection, pending bool, err error) {
	if err := checkNames(env, integ, id); err != nil {
		return nil, false, err
	}
	err = s.retryConn(ctx, id, func(ctx context.Context) (bool, error) {
		st, err := s.readConn(ctx, env, integ, id)
		if err != nil {
			return false, err
		}
		if st.connKV == nil {
			return true, fmt.Errorf("config: connection %q: %w", id, ErrNotFound)
		}
		if st.conn != nil && st.conn.Status == StatusDeleting {
			c, pending = st.conn, true
			c.Hooks = st.hookView()
			return true, nil
		}
		hooks, _, err := s.hooks(st)
		if err != nil {
			return true, err
		}
		conds, ops := s.unchanged(st), s.removeOps(st)
		pending = hooks.PreDeletion && st.conn != nil
		if pending {
			c, conds, ops, err = s.markDeleting(st)
			if err != nil {
				return true, err
			}
		}
		txn, err := s.cli.Txn(ctx).If(conds...).Then(ops...).Commit()
		if err != nil {
			return false, fmt.Errorf("config: deleting connection %q: %w", id, err)
		}
		return txn.Succeeded, nil
	})
	return c, pending, err
}

// markDeleting returns the connection of st marked deleting, and the
// conditions and operations that store it with its deletion task.
func (s *Store) markDeleting(st *connState) (*Connection, []clientv3.Cmp, []clientv3.Op, error) {
	next := *st.conn
	next.Status = StatusDeleting
	val, err := s.storedValue(st, &next)
	if err != nil {
		return nil, nil, nil, err
	}
	task := newTask(st.env, st.integ, st.id, provider.PreConnectionDeletion, time.Now())
	conds := s.unchanged(st)
	ops := append(s.connOps(st, val, nil), clientv3.OpPut(task.key(s.prefix, spaceOpen), s.sealer.sealTask(task)))
	if create := st.open[provider.PostConnectionCreation]; create != nil {
		ck := create.key(s.prefix, spaceClaims)
		conds = append(conds,
			clientv3.Compare(clientv3.ModRevision(create.key(s.prefix, spaceOpen)), "=", create.Rev),
			clientv3.Compare(clientv3.ModRevision(ck), "=", rev(st.claims[create.Hook])))
		if !create.Claimed {
			ops = append(ops, clientv3.OpDelete(create.key(s.prefix, spaceOpen)))
			delete(st.open, create.Hook)
		}
	}
	st.open[task.Hook] = task
	next.Hooks = st.hookView()
	return &next, conds, ops, nil
}

// RetryHook makes hook name of a connection due now: a failed task runs
// again with a fresh attempt budget, a pending one without waiting for its
// backoff. It returns the hook's status. A done or running hook is an
// error wrapping ErrConflict; a connection or hook without a task, one
// wrapping ErrNotFound.
func (s *Store) RetryHook(ctx context.Context, env, integ, id, name string) (*HookStatus, error) {
	if checkNames(env, integ, id) != nil {
		return nil, fmt.Errorf("config: connection %q: %w", id, ErrNotFound)
	}
	var out *HookStatus
	err := s.retryConn(ctx, id, func(ctx context.Context) (bool, error) {
		st, err := s.readConn(ctx, env, integ, id)
		if err != nil {
			return false, err
		}
		t := st.open[name]
		switch {
		case st.connKV == nil:
			return true, fmt.Errorf("config: connection %q: %w", id, ErrNotFound)
		case t == nil && st.done[name] != nil:
			return true, fmt.Errorf("config: hook %q is done: %w", name, ErrConflict)
		case t == nil:
			return true, fmt.Errorf("config: hook %q of connection %q: %w", name, id, ErrNotFound)
		case t.Claimed:
			return true, fmt.Errorf("config: hook %q is running: %w", name, ErrConflict)
		}
		if t.Status == TaskFailed {
			t.Attempts = 0
		}
		t.Status, t.NextAttemptAt = TaskPending, time.Now().UTC()
		ok, err := s.commitTask(ctx, t, rev(st.claims[name]), clientv3.OpPut(t.key(s.prefix, spaceOpen), s.sealer.sealTask(t)))
		out = t.view()
		return ok, err
	})
	return out, err
}

// commitTask applies ops if task t and its claim (mod revision claimRev,
// 0 for none) are as read.
func (s *Store) commitTask(ctx context.Context, t *Task, claimRev int64, ops ...clientv3.Op) (bool, error) {
	txn, err := s.cli.Txn(ctx).If(
		clientv3.Compare(clientv3.ModRevision(t.key(s.prefix, spaceOpen)), "=", t.Rev),
		clientv3.Compare(clientv3.ModRevision(t.key(s.prefix, spaceClaims)), "=", claimRev),
	).Then(ops...).Commit()
	if err != nil {
		return false, fmt.Errorf("config: writing hook task of connection %q: %w", t.Connection, err)
	}
	return txn.Succeeded, nil
}
