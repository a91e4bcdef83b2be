package config

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/edgehook/edgehook/provider"
)

// hookedProvider's instances have both lifecycle hooks; the post-creation
// hook sets config field "token" from its state.
type hookedProvider struct{ prepared atomic.Int64 }

type hookedInstance struct {
	fakeInstance
	p *hookedProvider
}

func (*hookedProvider) ID() string { return "hooked" }

func (p *hookedProvider) Provision(provider.Config) (provider.Instance, error) {
	return &hookedInstance{p: p}, nil
}

func (*hookedInstance) Hooks() provider.Hooks {
	return provider.Hooks{PostCreation: true, PreDeletion: true, Fields: []string{"token"}}
}

func (i *hookedInstance) PrepareHook(name string, _ *provider.HookConn) ([]byte, error) {
	if name != provider.PostConnectionCreation {
		return nil, nil
	}
	return []byte("tok-" + strconv.FormatInt(i.p.prepared.Add(1), 10)), nil
}

func (*hookedInstance) RunHook(context.Context, *provider.HookCall) (provider.HookResult, error) {
	return provider.HookResult{}, errors.New("not run by these tests")
}

// newHookFixture is a fixture whose integration "h" of "prod" has hooks.
func newHookFixture(t *testing.T) *fixture {
	f := &fixture{t: t, cli: newClient(t), prefix: testPrefix(t), fake: &fakeProvider{}}
	reg, err := provider.NewRegistry([]provider.Provider{f.fake, &hookedProvider{}})
	if err != nil {
		t.Fatal(err)
	}
	f.prov = reg.Provision
	f.store = NewStore(f.cli, f.prefix, f.prov)
	f.seed()
	if _, err := f.store.PutIntegration(ctxT(t), "prod", "h", []byte(`{"provider":"hooked"}`)); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) lease() clientv3.LeaseID {
	f.t.Helper()
	resp, err := f.cli.Grant(ctxT(f.t), 5)
	if err != nil {
		f.t.Fatal(err)
	}
	return resp.ID
}

// openTask returns the only open task, which must exist.
func (f *fixture) openTask() *Task {
	f.t.Helper()
	tasks, err := f.store.OpenTasks(ctxT(f.t))
	if err != nil || len(tasks) != 1 {
		f.t.Fatalf("OpenTasks = %d tasks, %v; want 1", len(tasks), err)
	}
	return tasks[0]
}

func TestHookTaskStoredWithConnection(t *testing.T) {
	f := newHookFixture(t)
	ctx := ctxT(t)
	c, err := f.store.PutConnection(ctx, "prod", "h", "c1", []byte(`{"config":{"team":"a"}}`))
	if err != nil || c.Hooks[provider.PostConnectionCreation].Status != TaskPending {
		t.Fatalf("PutConnection = %+v, %v", c, err)
	}
	task := f.openTask()
	if task.Connection != "c1" || task.Hook != provider.PostConnectionCreation || !task.Due(time.Now()) || task.Claimed {
		t.Fatalf("task %+v", task)
	}
	// An update stores no second task.
	if _, err := f.store.PutConnection(ctx, "prod", "h", "c1", []byte(`{"config":{"team":"b"}}`)); err != nil {
		t.Fatal(err)
	}
	if task2 := f.openTask(); task2.Rev != task.Rev {
		t.Fatal("an update rewrote the task")
	}
	// A connection created with the hook's field runs none; one of a
	// provider without hooks neither.
	for _, w := range []struct{ integ, js string }{{"h", `{"config":{"token":"t"}}`}, {"gh", `{}`}} {
		if c, err := f.store.PutConnection(ctx, "prod", w.integ, "c2", []byte(w.js)); err != nil || c.Hooks != nil {
			t.Fatalf("PutConnection(%s) = %+v, %v", w.js, c, err)
		}
	}
	f.openTask()
}

func TestHookClaimIsExclusiveAndLeased(t *testing.T) {
	f := newHookFixture(t)
	ctx := ctxT(t)
	f.store.PutConnection(ctx, "prod", "h", "c1", []byte(`{}`))
	task := f.openTask()
	l1, l2 := f.lease(), f.lease()
	a, err := f.store.ClaimTask(ctx, task, l1, "a")
	if err != nil || a == nil {
		t.Fatalf("first claim: %v, %v", a, err)
	}
	if b, err := f.store.ClaimTask(ctx, task, l2, "b"); b != nil || err != nil {
		t.Fatalf("second claim while held: %v, %v", b, err)
	}
	run, err := a.Begin(ctx, time.Now().Add(time.Minute))
	if err != nil || string(run.Call.State) != "tok-1" || run.Lifecycle == nil {
		t.Fatalf("Begin = %+v, %v", run, err)
	}
	if g, _ := f.store.GetConnection(ctx, "prod", "h", "c1"); g.Hooks[provider.PostConnectionCreation].Status != TaskRunning {
		t.Fatalf("while claimed: %+v", g.Hooks)
	}
	// The lease ends (a crash): the claim is gone, another worker takes
	// the task over with the same state; the first one's result is refused.
	if _, err := f.cli.Revoke(ctx, l1); err != nil {
		t.Fatal(err)
	}
	task = f.openTask()
	if task.Claimed || task.Attempts != 1 {
		t.Fatalf("after the lease ended: %+v", task)
	}
	b, err := f.store.ClaimTask(ctx, task, l2, "b")
	if err != nil || b == nil {
		t.Fatalf("takeover: %v, %v", b, err)
	}
	run, err = b.Begin(ctx, time.Now().Add(time.Minute))
	if err != nil || string(run.Call.State) != "tok-1" {
		t.Fatalf("takeover Begin = %+v, %v", run, err)
	}
	res := provider.HookResult{Config: map[string]json.RawMessage{"token": json.RawMessage(`"tok-1"`)}}
	if err := a.Succeed(ctx, res); !errors.Is(err, ErrClaimLost) {
		t.Fatalf("Succeed of the lost claim = %v, want ErrClaimLost", err)
	}
	if err := b.Succeed(ctx, res); err != nil {
		t.Fatal(err)
	}
	g, err := f.store.GetConnection(ctx, "prod", "h", "c1")
	if err != nil || string(g.Config["token"]) != `"tok-1"` || g.Hooks[provider.PostConnectionCreation].Status != TaskDone || g.Hooks[provider.PostConnectionCreation].Attempts != 2 {
		t.Fatalf("after Succeed: %+v, %v", g, err)
	}
	if keys := f.routeKeysOf("h"); len(keys) != 1 || keys[0] != "token/tok-1/c1" {
		t.Fatalf("route keys %q", keys)
	}
	if tasks, _ := f.store.OpenTasks(ctx); len(tasks) != 0 {
		t.Fatalf("open tasks left: %d", len(tasks))
	}
}

func (f *fixture) routeKeysOf(integ string) []string {
	f.t.Helper()
	pfx := f.prefix + "/envs/prod/routes/" + integ + "/"
	resp, err := f.cli.Get(ctxT(f.t), pfx, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		f.t.Fatal(err)
	}
	var keys []string
	for _, kv := range resp.Kvs {
		keys = append(keys, string(kv.Key[len(pfx):]))
	}
	return keys
}

func TestHookDeletion(t *testing.T) {
	f := newHookFixture(t)
	ctx := ctxT(t)
	f.store.PutConnection(ctx, "prod", "h", "c1", []byte(`{"config":{"token":"t1"}}`))
	c, pending, err := f.store.BeginDeleteConnection(ctx, "prod", "h", "c1")
	if err != nil || !pending || c.Status != StatusDeleting || c.Hooks[provider.PreConnectionDeletion].Status != TaskPending {
		t.Fatalf("BeginDeleteConnection = %+v, %v, %v", c, pending, err)
	}
	if keys := f.routeKeysOf("h"); len(keys) != 0 {
		t.Fatalf("a deleting connection keeps route keys %q", keys)
	}
	if _, err := f.store.PutConnection(ctx, "prod", "h", "c1", []byte(`{}`)); !errors.Is(err, ErrConflict) {
		t.Fatalf("PutConnection of a deleting connection = %v", err)
	}
	cache := f.newCache(CacheOptions{})
	if _, err := cache.Connection(ctx, []byte("prod"), []byte("h"), []byte("c1")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a deleting connection routed by id: %v", err)
	}
	cl, _ := f.store.ClaimTask(ctx, f.openTask(), f.lease(), "w")
	if _, err := cl.Begin(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := cl.Succeed(ctx, provider.HookResult{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.GetConnection(ctx, "prod", "h", "c1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after the hook: %v", err)
	}
	resp, _ := f.cli.Get(ctx, f.prefix+"/tasks/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if resp.Count != 0 {
		t.Fatalf("%d task keys left", resp.Count)
	}
	// Without the hook: removed at once.
	f.putConn("g1", `{}`)
	if _, pending, err := f.store.BeginDeleteConnection(ctx, "prod", "gh", "g1"); pending || err != nil {
		t.Fatalf("without a hook: %v, %v", pending, err)
	}
}

// A deletion cancels a creation task no worker holds, and waits for one a
// worker holds; that one ends by itself when it sees the deletion.
func TestHookDeletionAndCreation(t *testing.T) {
	f := newHookFixture(t)
	ctx := ctxT(t)
	f.store.PutConnection(ctx, "prod", "h", "idle", []byte(`{}`))
	if c, _, err := f.store.BeginDeleteConnection(ctx, "prod", "h", "idle"); err != nil || c.Hooks[provider.PostConnectionCreation] != nil {
		t.Fatalf("unclaimed creation not cancelled: %+v, %v", c, err)
	}
	f.store.DeleteConnection(ctx, "prod", "h", "idle")

	f.store.PutConnection(ctx, "prod", "h", "busy", []byte(`{}`))
	create, _ := f.store.ClaimTask(ctx, f.openTask(), f.lease(), "w1")
	if _, err := create.Begin(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.store.BeginDeleteConnection(ctx, "prod", "h", "busy"); err != nil {
		t.Fatal(err)
	}
	tasks, _ := f.store.OpenTasks(ctx)
	var del *Task
	for _, t := range tasks {
		if t.Hook == provider.PreConnectionDeletion {
			del = t
		}
	}
	if len(tasks) != 2 || del == nil {
		t.Fatalf("open tasks %+v", tasks)
	}
	dc, _ := f.store.ClaimTask(ctx, del, f.lease(), "w2")
	if _, err := dc.Begin(ctx, time.Now()); !errors.Is(err, ErrTaskWaiting) {
		t.Fatalf("deletion while creation runs: %v", err)
	}
	if err := create.Fail(ctx, Failure{Msg: "x", RetryAt: time.Now()}); !errors.Is(err, ErrTaskCancelled) {
		t.Fatalf("creation failing on a deleting connection: %v", err)
	}
	if tasks := f.openTasks(); len(tasks) != 1 || tasks[0].Hook != provider.PreConnectionDeletion || tasks[0].Claimed {
		t.Fatalf("open tasks %+v", tasks)
	}
}

func (f *fixture) openTasks() []*Task {
	tasks, err := f.store.OpenTasks(ctxT(f.t))
	if err != nil {
		f.t.Fatal(err)
	}
	return tasks
}

func TestHookRetryHook(t *testing.T) {
	f := newHookFixture(t)
	ctx := ctxT(t)
	f.store.PutConnection(ctx, "prod", "h", "c1", []byte(`{}`))
	cl, _ := f.store.ClaimTask(ctx, f.openTask(), f.lease(), "w")
	cl.Begin(ctx, time.Now().Add(time.Hour))
	if _, err := f.store.RetryHook(ctx, "prod", "h", "c1", provider.PostConnectionCreation); !errors.Is(err, ErrConflict) {
		t.Fatalf("retry while running: %v", err)
	}
	if err := cl.Fail(ctx, Failure{Msg: "boom", RetryAt: time.Now().Add(time.Hour), GiveUp: true}); err != nil {
		t.Fatal(err)
	}
	g, _ := f.store.GetConnection(ctx, "prod", "h", "c1")
	if h := g.Hooks[provider.PostConnectionCreation]; h.Status != TaskFailed || h.LastError != "boom" || h.Attempts != 1 || h.NextAttemptAt != "" {
		t.Fatalf("failed: %+v", h)
	}
	if task := f.openTask(); task.Due(time.Now().Add(2 * time.Hour)) {
		t.Fatal("a failed task is due")
	}
	h, err := f.store.RetryHook(ctx, "prod", "h", "c1", provider.PostConnectionCreation)
	if err != nil || h.Status != TaskPending || h.Attempts != 0 || h.LastError != "boom" {
		t.Fatalf("RetryHook = %+v, %v", h, err)
	}
	if task := f.openTask(); !task.Due(time.Now()) || string(task.State) != "tok-1" {
		t.Fatalf("after retry: %+v", task)
	}
	if _, err := f.store.RetryHook(ctx, "prod", "h", "c1", "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("retry of an unknown hook: %v", err)
	}
}

// BenchmarkHookTask measures a connection created with its hook task and
// the task's whole run against the embedded etcd: scan, claim, begin
// (state stored), succeed (config and done task).
func BenchmarkHookTask(b *testing.B) {
	f := &fixture{t: b, cli: newClient(b), prefix: testPrefix(b), fake: &fakeProvider{}}
	reg, _ := provider.NewRegistry([]provider.Provider{f.fake, &hookedProvider{}})
	f.prov = reg.Provision
	f.store = NewStore(f.cli, f.prefix, f.prov)
	f.seed()
	ctx := context.Background()
	f.store.PutIntegration(ctx, "prod", "h", []byte(`{"provider":"hooked"}`))
	lease, _ := f.cli.Grant(ctx, 10)
	res := provider.HookResult{Config: map[string]json.RawMessage{"token": json.RawMessage(`"t"`)}}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		id := "c" + strconv.Itoa(i)
		f.store.PutConnection(ctx, "prod", "h", id, []byte(`{}`))
		tasks, _ := f.store.OpenTasks(ctx)
		cl, err := f.store.ClaimTask(ctx, tasks[0], lease.ID, "w")
		if err != nil || cl == nil {
			b.Fatal(err)
		}
		if _, err := cl.Begin(ctx, time.Now()); err != nil {
			b.Fatal(err)
		}
		if err := cl.Succeed(ctx, res); err != nil {
			b.Fatal(err)
		}
	}
}
