package config

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/edgehook/edgehook/provider"
)

// Outcomes of a claimed task that end its run without a result.
var (
	// ErrClaimLost: the claim is no longer held (its lease expired, or
	// the connection was removed with force); nothing was written.
	ErrClaimLost = errors.New("config: task claim lost")
	// ErrTaskCancelled: the task was removed because there is nothing
	// left to run it for (its connection is gone or being deleted).
	ErrTaskCancelled = errors.New("config: task cancelled")
	// ErrTaskWaiting: a pre-deletion task waits for the connection's
	// pending post-creation task; the claim was released.
	ErrTaskWaiting = errors.New("config: task waits for the creation hook")
)

// taskPage is how many task records one read of a scan returns.
const taskPage = 500

// OpenTasks returns every open task (pending or failed) with Claimed set,
// read at one revision.
func (s *Store) OpenTasks(ctx context.Context) ([]*Task, error) {
	cp := s.prefix + "/tasks/" + spaceClaims + "/"
	resp, err := s.cli.Get(ctx, cp, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, fmt.Errorf("config: reading task claims: %w", err)
	}
	claimed := make(map[string]bool, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		claimed[string(kv.Key[len(cp):])] = true
	}
	op := s.prefix + "/tasks/" + spaceOpen + "/"
	end, key := clientv3.GetPrefixRangeEnd(op), op
	var tasks []*Task
	for {
		r, err := s.cli.Get(ctx, key, clientv3.WithRange(end), clientv3.WithLimit(taskPage), clientv3.WithRev(resp.Header.Revision))
		if err != nil {
			return nil, fmt.Errorf("config: reading tasks: %w", err)
		}
		for _, kv := range r.Kvs {
			t, err := s.decodeTask(kv)
			if err != nil {
				return nil, err
			}
			if t != nil {
				t.Claimed = claimed[string(kv.Key[len(op):])]
				tasks = append(tasks, t)
			}
		}
		if !r.More || len(r.Kvs) == 0 {
			return tasks, nil
		}
		key = string(r.Kvs[len(r.Kvs)-1].Key) + "\x00"
	}
}

// Claim is a task held by one worker, through a key attached to the
// worker's lease: it lasts until released or until the lease expires
// (the worker crashed or lost etcd). Every write of a Claim is
// conditioned on the claim still being held, so a result is applied at
// most once. A Claim is used by one goroutine.
type Claim struct {
	s     *Store
	task  *Task
	value string
}

// ClaimTask claims t, as read by OpenTasks, for holder under lease. It
// returns nil when t is claimed by another worker or changed since it was
// read.
func (s *Store) ClaimTask(ctx context.Context, t *Task, lease clientv3.LeaseID, holder string) (*Claim, error) {
	var id [8]byte
	rand.Read(id[:])
	c := &Claim{s: s, task: t, value: holder + " " + hex.EncodeToString(id[:])}
	ck := t.key(s.prefix, spaceClaims)
	txn, err := s.cli.Txn(ctx).If(
		clientv3.Compare(clientv3.ModRevision(t.key(s.prefix, spaceOpen)), "=", t.Rev),
		clientv3.Compare(clientv3.CreateRevision(ck), "=", 0),
	).Then(clientv3.OpPut(ck, c.value, clientv3.WithLease(lease))).Commit()
	if err != nil {
		return nil, fmt.Errorf("config: claiming a task: %w", err)
	}
	if !txn.Succeeded {
		return nil, nil
	}
	return c, nil
}

// Task returns the claimed task as last written.
func (c *Claim) Task() *Task { return c.task }

// HookRun is what one attempt of a claimed task runs.
type HookRun struct {
	// Lifecycle runs the hook. It is nil when the integration's provider
	// no longer has the hook: Succeed then completes the task without
	// running anything (a deletion removes the connection).
	Lifecycle provider.Lifecycle
	// Call has Hook, Conn and State set; the worker adds PublicURL and
	// Client.
	Call provider.HookCall
}

// Begin starts an attempt: it generates the hook's state if the task has
// none yet (PrepareHook), and stores it with the attempt counted and
// retryAt as the time to try again should this attempt never report,
// before the provider is called.
func (c *Claim) Begin(ctx context.Context, retryAt time.Time) (*HookRun, error) {
	var run *HookRun
	err := c.s.retryConn(ctx, c.task.Connection, func(ctx context.Context) (bool, error) {
		st, t, err := c.read(ctx)
		if err != nil {
			return true, err
		}
		if ok, err := c.preconditions(ctx, st, t); !ok || err != nil {
			return ok, err
		}
		if st.conn == nil {
			return true, fmt.Errorf("config: stored connection %q does not decode", t.Connection)
		}
		hooks, lc, err := c.s.hooks(st)
		if err != nil {
			return true, err
		}
		conn := &provider.HookConn{Env: t.Env, Integration: t.Integration, ID: t.Connection,
			Config: st.conn.Config, Credentials: st.conn.Credentials}
		if !hooks.Has(t.Hook) {
			run = &HookRun{Call: provider.HookCall{Hook: t.Hook, Conn: conn}}
			return true, nil
		}
		if t.State == nil {
			if t.State, err = lc.PrepareHook(t.Hook, conn); err != nil {
				return true, fmt.Errorf("config: preparing hook %s: %w", t.Hook, err)
			}
		}
		t.Attempts++
		t.NextAttemptAt = retryAt.UTC()
		ok, err := c.commit(ctx, st, t, clientv3.OpPut(t.key(c.s.prefix, spaceOpen), c.s.sealer.sealTask(t)))
		run = &HookRun{Lifecycle: lc, Call: provider.HookCall{Hook: t.Hook, Conn: conn, State: t.State}}
		return ok, err
	})
	return run, err
}

// preconditions ends the run of a task that has nothing to run for: a
// task of a connection that is gone, a creation task of a connection
// being deleted (both removed: ErrTaskCancelled), a deletion task while
// the creation task is pending (released: ErrTaskWaiting). ok false with
// a nil error means the write conflicted.
func (c *Claim) preconditions(ctx context.Context, st *connState, t *Task) (ok bool, err error) {
	ck, tk := t.key(c.s.prefix, spaceClaims), t.key(c.s.prefix, spaceOpen)
	switch {
	case st.connKV == nil, t.Hook == provider.PostConnectionCreation && st.conn != nil && st.conn.Status == StatusDeleting:
		if ok, err = c.commit(ctx, st, t, clientv3.OpDelete(tk), clientv3.OpDelete(ck)); ok && err == nil {
			err = ErrTaskCancelled
		}
		return ok, err
	case t.Hook == provider.PreConnectionDeletion:
		if cr := st.open[provider.PostConnectionCreation]; cr != nil && cr.Status == TaskPending {
			if ok, err = c.commit(ctx, st, t, clientv3.OpDelete(ck)); ok && err == nil {
				err = ErrTaskWaiting
			}
			return ok, err
		}
	}
	return true, nil
}

// Succeed stores the hook's result: for a post-creation hook its config
// changes and the task done, for a pre-deletion hook the removal of the
// connection and its tasks; and releases the claim, in one transaction.
func (c *Claim) Succeed(ctx context.Context, res provider.HookResult) error {
	return c.s.retryConn(ctx, c.task.Connection, func(ctx context.Context) (bool, error) {
		st, t, err := c.read(ctx)
		if err != nil {
			return true, err
		}
		if st.connKV == nil || t.Hook == provider.PreConnectionDeletion {
			return c.commit(ctx, st, t, c.s.removeOps(st)...)
		}
		if st.conn == nil {
			return true, fmt.Errorf("config: stored connection %q does not decode", t.Connection)
		}
		next := *st.conn
		next.Config = maps.Clone(st.conn.Config)
		if next.Config == nil && len(res.Config) > 0 {
			next.Config = make(map[string]json.RawMessage, len(res.Config))
		}
		maps.Copy(next.Config, res.Config)
		var routes []route
		if next.Status != StatusDeleting {
			if routes, err = routesOf(next.Config, st.cred, st.hash); err != nil {
				return true, err
			}
		}
		val, err := c.s.storedValue(st, &next)
		if err != nil {
			return true, err
		}
		done := *t
		done.Status, done.LastError, done.State, done.NextAttemptAt = TaskDone, "", nil, time.Time{}
		ops := append(c.s.connOps(st, val, routes),
			clientv3.OpDelete(t.key(c.s.prefix, spaceOpen)),
			clientv3.OpPut(t.key(c.s.prefix, spaceDone), c.s.sealer.sealTask(&done)),
			clientv3.OpDelete(t.key(c.s.prefix, spaceClaims)))
		return c.commit(ctx, st, t, ops...)
	})
}

// Failure is the outcome of a failed attempt.
type Failure struct {
	Msg     string    // the last error shown; no secret
	RetryAt time.Time // the next attempt
	GiveUp  bool      // the task is failed, not retried
	State   []byte    // when not nil, the hook's new state
	// Uncounted is set when the attempt failed before Begin counted it.
	Uncounted bool
}

// Fail records a failed attempt and releases the claim. A creation task
// whose connection is gone or being deleted is removed instead.
func (c *Claim) Fail(ctx context.Context, f Failure) error {
	return c.s.retryConn(ctx, c.task.Connection, func(ctx context.Context) (bool, error) {
		st, t, err := c.read(ctx)
		if err != nil {
			return true, err
		}
		if t.Hook == provider.PostConnectionCreation {
			if ok, err := c.preconditions(ctx, st, t); !ok || err != nil {
				return ok, err
			}
		}
		t.LastError, t.NextAttemptAt = f.Msg, f.RetryAt.UTC()
		if f.GiveUp {
			t.Status = TaskFailed
		}
		if f.State != nil {
			t.State = f.State
		}
		if f.Uncounted {
			t.Attempts++
		}
		return c.commit(ctx, st, t,
			clientv3.OpPut(t.key(c.s.prefix, spaceOpen), c.s.sealer.sealTask(t)),
			clientv3.OpDelete(t.key(c.s.prefix, spaceClaims)))
	})
}

// Release gives the claim up without changing the task.
func (c *Claim) Release(ctx context.Context) error {
	ck := c.task.key(c.s.prefix, spaceClaims)
	_, err := c.s.cli.Txn(ctx).If(clientv3.Compare(clientv3.Value(ck), "=", c.value)).
		Then(clientv3.OpDelete(ck)).Commit()
	if err != nil {
		return fmt.Errorf("config: releasing a task claim: %w", err)
	}
	return nil
}

// read reads the task's connection state and checks the claim is held.
func (c *Claim) read(ctx context.Context) (*connState, *Task, error) {
	t := c.task
	st, err := c.s.readConn(ctx, t.Env, t.Integration, t.Connection)
	if err != nil {
		return nil, nil, err
	}
	cur := st.open[t.Hook]
	if kv := st.claims[t.Hook]; kv == nil || string(kv.Value) != c.value || cur == nil {
		return nil, nil, ErrClaimLost
	}
	return st, cur, nil
}

// commit applies ops if the claim is held and the task, the connection
// and the integration are as read; it reports false when they were not.
func (c *Claim) commit(ctx context.Context, st *connState, t *Task, ops ...clientv3.Op) (bool, error) {
	conds := append(c.s.unchanged(st),
		clientv3.Compare(clientv3.Value(t.key(c.s.prefix, spaceClaims)), "=", c.value),
		clientv3.Compare(clientv3.ModRevision(t.key(c.s.prefix, spaceOpen)), "=", t.Rev))
	txn, err := c.s.cli.Txn(ctx).If(conds...).Then(ops...).Commit()
	if err != nil {
		return false, fmt.Errorf("config: writing hook task of connection %q: %w", t.Connection, err)
	}
	if txn.Succeeded {
		t.Rev = txn.Header.Revision
		c.task = t
	}
	return txn.Succeeded, nil
}
