package hooks_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/edgehook/edgehook/config"
	"github.com/edgehook/edgehook/hooks"
	"github.com/edgehook/edgehook/internal/fakestreak"
	"github.com/edgehook/edgehook/plugins"
	"github.com/edgehook/edgehook/provider"
)

// newStore returns a Store over a fresh embedded etcd with the built-in
// providers, and a Streak integration "streak" of "prod" against api.
func newStore(t *testing.T, api *fakestreak.Server) *config.Store {
	t.Helper()
	emb, err := config.StartEmbedded(filepath.Join(t.TempDir(), "etcd"), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Close)
	cli, err := clientv3.New(clientv3.Config{Endpoints: emb.Endpoints(), DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	reg, err := provider.NewRegistry(plugins.All())
	if err != nil {
		t.Fatal(err)
	}
	s := config.NewStore(cli, "", reg.Provision)
	ctx := ctxT(t)
	if _, err := s.PutEnvironment(ctx, "prod", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutIntegration(ctx, "prod", "streak", []byte(`{"provider":"streak","options":{"pipeline_key":"p","api_base_url":"`+api.URL+`"}}`)); err != nil {
		t.Fatal(err)
	}
	return s
}

func startWorker(t *testing.T, s *config.Store, o hooks.Options) *hooks.Worker {
	t.Helper()
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	w, err := hooks.New(s, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return w
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// hookOf polls the connection until cond holds for its creation hook.
func hookOf(t *testing.T, s *config.Store, what string, cond func(*config.HookStatus) bool) *config.HookStatus {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := s.GetConnection(ctxT(t), "prod", "streak", "c1")
		if err != nil {
			t.Fatal(err)
		}
		if h := c.Hooks[provider.PostConnectionCreation]; h != nil && cond(h) {
			return h
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s; hooks %+v", what, c.Hooks)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A creation hook gives up after its attempts (failed, counted), and the
// admin retry runs it again.
func TestHookGivesUpThenRetry(t *testing.T) {
	api := fakestreak.New(t)
	s := newStore(t, api)
	w := startWorker(t, s, hooks.Options{PublicURL: "https://edge.example", AllowPrivate: true,
		MinBackoff: 10 * time.Millisecond, MaxCreationAttempts: 3, LeaseTTL: 2 * time.Second})
	api.FailCreates(1000)
	if _, err := s.PutConnection(ctxT(t), "prod", "streak", "c1", []byte(`{"credentials":{"api_key":"k"}}`)); err != nil {
		t.Fatal(err)
	}
	h := hookOf(t, s, "failed", func(h *config.HookStatus) bool { return h.Status == config.TaskFailed })
	if h.Attempts != 3 || !strings.Contains(h.LastError, "Streak answered 500") || api.Refused() != 3 {
		t.Fatalf("failed hook %+v after %d calls", h, api.Refused())
	}
	deadline := time.Now().Add(5 * time.Second)
	for w.HookTasks(config.TaskFailed) != 1 || w.HookTasks(config.TaskPending) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("HookTasks: pending %d, failed %d", w.HookTasks(config.TaskPending), w.HookTasks(config.TaskFailed))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if w.HookFailures() != 3 {
		t.Fatalf("HookFailures = %d, want 3", w.HookFailures())
	}
	time.Sleep(100 * time.Millisecond)
	if api.Refused() != 3 {
		t.Fatal("a failed hook was attempted again")
	}
	api.FailCreates(0)
	if _, err := s.RetryHook(ctxT(t), "prod", "streak", "c1", provider.PostConnectionCreation); err != nil {
		t.Fatal(err)
	}
	h = hookOf(t, s, "done", func(h *config.HookStatus) bool { return h.Status == config.TaskDone })
	if h.Attempts != 1 || len(api.Creates()) != 1 {
		t.Fatalf("after retry %+v, %d registrations", h, len(api.Creates()))
	}
}

// Hooks dial through the outgoing-address guard: without
// AllowPrivate the loopback fake is refused, and the reason is shown.
func TestHookRefusesPrivateAddresses(t *testing.T) {
	api := fakestreak.New(t)
	s := newStore(t, api)
	startWorker(t, s, hooks.Options{PublicURL: "https://edge.example", MinBackoff: 10 * time.Millisecond, LeaseTTL: 2 * time.Second})
	if _, err := s.PutConnection(ctxT(t), "prod", "streak", "c1", []byte(`{"credentials":{"api_key":"k"}}`)); err != nil {
		t.Fatal(err)
	}
	hookOf(t, s, "refused", func(h *config.HookStatus) bool { return strings.Contains(h.LastError, "destination address refused") })
	if n := len(api.Creates()) + api.Refused(); n != 0 {
		t.Fatalf("the fake was reached %d times", n)
	}
}

func TestHookOptions(t *testing.T) {
	if _, err := hooks.New(newStore(t, fakestreak.New(t)), hooks.Options{LeaseTTL: 11 * time.Second}); err == nil {
		t.Fatal("a lease TTL above 10 s was accepted")
	}
}
