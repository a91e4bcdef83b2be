package config

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/edgehook/edgehook/provider"
)

// Task statuses as stored. "running" is not stored: a pending task is
// running while a claim on it exists.
const (
	TaskPending = "pending"
	TaskRunning = "running"
	TaskDone    = "done"
	TaskFailed  = "failed"
)

// Task is one connection lifecycle hook task (SPEC §9). Open tasks (pending
// or failed) live under {prefix}/tasks/open/{env}/{integration}/{id}/{hook},
// done ones under {prefix}/tasks/done/…, kept until the connection is
// removed; a claim on a task is {prefix}/tasks/claims/…, attached to the
// claiming worker's lease.
type Task struct {
	Env           string    `json:"env"`
	Integration   string    `json:"integration"`
	Connection    string    `json:"connection"`
	Hook          string    `json:"hook"`
	Status        string    `json:"status"`
	Attempts      int       `json:"attempts,omitempty"`
	LastError     string    `json:"last_error,omitempty"`
	NextAttemptAt time.Time `json:"next_attempt_at"`
	// State is what the hook generated before its first attempt (Streak's
	// token) and the progress it reported. It may hold secrets and is
	// never shown.
	State []byte `json:"state,omitempty"`

	// Rev is the task's mod revision when read.
	Rev int64 `json:"-"`
	// Claimed reports whether a claim on the task existed when read.
	Claimed bool `json:"-"`
}

// HookStatus is one hook of a connection as the admin API shows it.
type HookStatus struct {
	Status        string `json:"status"`
	Attempts      int    `json:"attempts,omitempty"`
	LastError     string `json:"last_error,omitempty"`
	NextAttemptAt string `json:"next_attempt_at,omitempty"`
}

// Due reports whether t is pending, unclaimed and due at now.
func (t *Task) Due(now time.Time) bool {
	return t.Status == TaskPending && !t.Claimed && !t.NextAttemptAt.After(now)
}

// view is the HookStatus of t.
func (t *Task) view() *HookStatus {
	v := &HookStatus{Status: t.Status, Attempts: t.Attempts, LastError: t.LastError}
	switch {
	case t.Status == TaskPending && t.Claimed:
		v.Status = TaskRunning
	case t.Status == TaskPending && t.Attempts > 0:
		v.NextAttemptAt = t.NextAttemptAt.UTC().Format(time.RFC3339Nano)
	}
	return v
}

// Key spaces under {prefix}/tasks/.
const (
	spaceOpen   = "open"
	spaceDone   = "done"
	spaceClaims = "claims"
)

// taskKey is the key of hook's task of a connection in one space.
func taskKey(prefix, space, env, integ, id, hook string) string {
	return connTasksPrefix(prefix, space, env, integ, id) + hook
}

// connTasksPrefix is the prefix of a connection's keys in one space,
// ending with '/'.
func connTasksPrefix(prefix, space, env, integ, id string) string {
	return prefix + "/tasks/" + space + "/" + env + "/" + integ + "/" + id + "/"
}

func (t *Task) key(prefix, space string) string {
	return taskKey(prefix, space, t.Env, t.Integration, t.Connection, t.Hook)
}

func (t *Task) encode() string {
	b, err := json.Marshal(t)
	if err != nil {
		panic("config: encoding a task: " + err.Error()) // only plain fields
	}
	return string(b)
}

func newTask(env, integ, id, hook string, now time.Time) *Task {
	return &Task{Env: env, Integration: integ, Connection: id, Hook: hook, Status: TaskPending, NextAttemptAt: now.UTC()}
}

// connState is one connection with its integration and hook tasks, read
// at one revision: what every connection write decides from.
type connState struct {
	env, integ, id string
	cred           []string         // config fields holding credentials (the integration's provider's)
	hash           *routeHasher     // set when cred is
	integKV        *mvccpb.KeyValue // nil when the integration is missing
	connKV         *mvccpb.KeyValue // nil when the connection is missing
	conn           *Connection      // nil when missing or undecodable
	open, done     map[string]*Task // by hook name
	claims         map[string]*mvccpb.KeyValue
}

// readConn reads a connection's state in one transaction.
func (s *Store) readConn(ctx context.Context, env, integ, id string) (*connState, error) {
	p := s.prefix
	resp, err := s.cli.Txn(ctx).Then(
		clientv3.OpGet(integKey(p, env, integ)),
		clientv3.OpGet(connKey(p, env, integ, id)),
		clientv3.OpGet(connTasksPrefix(p, spaceOpen, env, integ, id), clientv3.WithPrefix()),
		clientv3.OpGet(connTasksPrefix(p, spaceDone, env, integ, id), clientv3.WithPrefix()),
		clientv3.OpGet(connTasksPrefix(p, spaceClaims, env, integ, id), clientv3.WithPrefix()),
	).Commit()
	if err != nil {
		return nil, fmt.Errorf("config: reading connection %q: %w", id, err)
	}
	st := &connState{env: env, integ: integ, id: id, claims: map[string]*mvccpb.KeyValue{}}
	r := resp.Responses
	st.integKV = first(r[0].GetResponseRange().Kvs)
	if st.integKV != nil {
		var in Integration
		if json.Unmarshal(st.integKV.Value, &in) == nil {
			st.cred = s.credentialFields(in.Provider)
		}
	}
	if len(st.cred) > 0 {
		if st.hash, err = s.hasher(ctx); err != nil {
			return nil, err
		}
	}
	if st.connKV = first(r[1].GetResponseRange().Kvs); st.connKV != nil {
		var c Connection
		if json.Unmarshal(st.connKV.Value, &c) == nil {
			if err := s.sealer.openConnection(string(st.connKV.Key), &c); err != nil {
				return nil, err
			}
			st.conn = &c
		}
	}
	if st.open, err = s.decodeTasks(r[2].GetResponseRange().Kvs); err != nil {
		return nil, err
	}
	if st.done, err = s.decodeTasks(r[3].GetResponseRange().Kvs); err != nil {
		return nil, err
	}
	for _, kv := range r[4].GetResponseRange().Kvs {
		st.claims[lastSegment(kv.Key)] = kv
	}
	for hook, t := range st.open {
		t.Claimed = st.claims[hook] != nil
	}
	return st, nil
}

func first(kvs []*mvccpb.KeyValue) *mvccpb.KeyValue {
	if len(kvs) == 0 {
		return nil
	}
	return kvs[0]
}

func lastSegment(k []byte) string {
	s := string(k)
	return s[strings.LastIndexByte(s, '/')+1:]
}

// decodeTasks decodes task records by hook name, skipping any that do
// not decode (written by hand).
func (s *Store) decodeTasks(kvs []*mvccpb.KeyValue) (map[string]*Task, error) {
	m := make(map[string]*Task, len(kvs))
	for _, kv := range kvs {
		t, err := s.decodeTask(kv)
		if err != nil {
			return nil, err
		}
		if t != nil {
			m[t.Hook] = t
		}
	}
	return m, nil
}

// decodeTask decodes a task record, nil when it does not decode, with its
// state opened.
func (s *Store) decodeTask(kv *mvccpb.KeyValue) (*Task, error) {
	var t Task
	if json.Unmarshal(kv.Value, &t) != nil || t.Hook != lastSegment(kv.Key) {
		return nil, nil
	}
	if err := s.sealer.openTask(&t); err != nil {
		return nil, err
	}
	t.Rev = kv.ModRevision
	return &t, nil
}

// rev returns a key's mod revision, 0 when absent.
func rev(kv *mvccpb.KeyValue) int64 {
	if kv == nil {
		return 0
	}
	return kv.ModRevision
}

// taskRev is the mod revision of a task, 0 when absent.
func taskRev(t *Task) int64 {
	if t == nil {
		return 0
	}
	return t.Rev
}

// unchanged are the conditions that the integration and the connection
// are as read.
func (s *Store) unchanged(st *connState) []clientv3.Cmp {
	return []clientv3.Cmp{
		clientv3.Compare(clientv3.ModRevision(integKey(s.prefix, st.env, st.integ)), "=", rev(st.integKV)),
		clientv3.Compare(clientv3.ModRevision(connKey(s.prefix, st.env, st.integ, st.id)), "=", rev(st.connKV)),
	}
}

// hookView is the "hooks" of a connection: done and open tasks by name.
func (st *connState) hookView() map[string]*HookStatus {
	if len(st.open)+len(st.done) == 0 {
		return nil
	}
	v := make(map[string]*HookStatus, len(st.open)+len(st.done))
	for name, t := range st.done {
		v[name] = t.view()
	}
	for name, t := range st.open {
		v[name] = t.view()
	}
	return v
}

// hooks returns the lifecycle hooks of the connection's integration and
// its Lifecycle, or none when the provider has none. An integration that
// is missing has none; one that does not provision is an error.
func (s *Store) hooks(st *connState) (provider.Hooks, provider.Lifecycle, error) {
	if st.integKV == nil {
		return provider.Hooks{}, nil, nil
	}
	in, err := s.decodeStoredIntegration(string(st.integKV.Key), st.integKV.Value)
	var ig *Integ
	if err == nil {
		ig, err = ProvisionIntegration(st.env, st.integ, in, s.prov)
	}
	if err != nil {
		return provider.Hooks{}, nil, fmt.Errorf("config: integration %q is unusable: %w", st.integ, err)
	}
	lc, ok := ig.Instance.(provider.Lifecycle)
	if !ok {
		return provider.Hooks{}, nil, nil
	}
	return lc.Hooks(), lc, nil
}

// removeOps are the operations that remove a connection with its index
// entries, its tasks and any claim on them.
func (s *Store) removeOps(st *connState) []clientv3.Op {
	p := s.prefix
	ops := []clientv3.Op{
		clientv3.OpDelete(connKey(p, st.env, st.integ, st.id)),
		clientv3.OpDelete(connTasksPrefix(p, spaceOpen, st.env, st.integ, st.id), clientv3.WithPrefix()),
		clientv3.OpDelete(connTasksPrefix(p, spaceDone, st.env, st.integ, st.id), clientv3.WithPrefix()),
		clientv3.OpDelete(connTasksPrefix(p, spaceClaims, st.env, st.integ, st.id), clientv3.WithPrefix()),
	}
	for _, r := range append(st.routes(), st.plainCredentialRoutes()...) {
		ops = append(ops, clientv3.OpDelete(routeKey(p, st.env, st.integ, r, st.id)))
	}
	return ops
}

// routes are the index entries the stored connection has: none while it
// is being deleted. A stored value that does not decode has none we can
// derive; that is logged (storedRoutes).
func (st *connState) routes() []route {
	switch {
	case st.connKV == nil:
		return nil
	case st.conn == nil:
		return st.storedRoutes()
	case st.conn.Status == StatusDeleting:
		return nil
	}
	return routesOfAll(st.conn.Config, st.cred, st.hash)
}

// plainCredentialRoutes are the index entries of the stored connection's
// credential fields as written before they were hashed, so that a write
// removes any left from then.
func (st *connState) plainCredentialRoutes() []route {
	if len(st.cred) == 0 || st.conn == nil {
		return nil
	}
	var cfg map[string]json.RawMessage
	for _, f := range st.cred {
		if v, ok := st.conn.Config[f]; ok {
			if cfg == nil {
				cfg = map[string]json.RawMessage{}
			}
			cfg[f] = v
		}
	}
	return routesOfAll(cfg, nil, nil)
}

// storedValue encodes c as stored for st's connection: without the Hooks
// view, its secrets sealed.
func (s *Store) storedValue(st *connState, c *Connection) (string, error) {
	v := *s.sealer.sealConnection(connKey(s.prefix, st.env, st.integ, st.id), c, st.cred)
	v.Hooks = nil
	return encodeJSON("connection", &v)
}
