package config

import (
	"errors"
	"sync"
	"testing"
	"time"
)

func TestCaptureSecret(t *testing.T) {
	f := newFixture(t)
	f.seed()
	ctx := ctxT(t)
	if _, err := f.store.PutIntegration(ctx, "prod", "asana", []byte(`{"provider":"fake","options":{"mode":"capture"},"dedupe_window":"1h"}`)); err != nil {
		t.Fatal(err)
	}
	cache := f.newCache(CacheOptions{})
	if ig, err := cache.Integration(ctx, []byte("prod"), []byte("asana")); err != nil || ig.Instance.(*fakeInstance).secret != "" {
		t.Fatalf("before: %v", err)
	}
	if err := f.store.CaptureSecret(ctx, "prod", "asana", "hook-secret"); err != nil {
		t.Fatal(err)
	}
	in, err := f.store.GetIntegration(ctx, "prod", "asana")
	if err != nil || in.WebhookSecret != "hook-secret" || string(in.Options) != `{"mode":"capture"}` || in.DedupeWindow != "1h" {
		t.Fatalf("stored %+v, %v", in, err)
	}
	eventually(t, 2*time.Second, "cache sees the captured secret", func() bool {
		ig, err := cache.Integration(ctx, []byte("prod"), []byte("asana"))
		return err == nil && ig.Instance.(*fakeInstance).secret == "hook-secret"
	})
	if err := f.store.CaptureSecret(ctx, "prod", "asana", "another"); !errors.Is(err, ErrSecretSet) {
		t.Fatalf("second capture: %v; want ErrSecretSet", err)
	}
	if err := f.store.CaptureSecret(ctx, "prod", "gh", "x"); !errors.Is(err, ErrSecretSet) {
		t.Fatalf("integration with a secret: %v; want ErrSecretSet", err)
	}
	for _, name := range []string{"missing", "bad/name"} {
		if err := f.store.CaptureSecret(ctx, "prod", name, "x"); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: %v; want ErrNotFound", name, err)
		}
	}
	var ve *ValidationError
	if err := f.store.CaptureSecret(ctx, "prod", "gh", ""); !errors.As(err, &ve) {
		t.Errorf("empty secret: %v; want a *ValidationError", err)
	}
}

// Of concurrent captures exactly one wins; the others see its secret set.
func TestCaptureSecretConcurrent(t *testing.T) {
	f := newFixture(t)
	f.seed()
	ctx := ctxT(t)
	if _, err := f.store.PutIntegration(ctx, "prod", "notion", []byte(`{"provider":"fake"}`)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { errs[i] = f.store.CaptureSecret(ctx, "prod", "notion", "secret-"+string(rune('a'+i))) })
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won < 0:
			won = i
		case err == nil:
			t.Fatalf("captures %d and %d both won", won, i)
		case !errors.Is(err, ErrSecretSet):
			t.Fatalf("capture %d: %v", i, err)
		}
	}
	in, err := f.store.GetIntegration(ctx, "prod", "notion")
	if won < 0 || err != nil || in.WebhookSecret != "secret-"+string(rune('a'+won)) {
		t.Fatalf("winner %d, stored %q, %v", won, in.WebhookSecret, err)
	}
}
