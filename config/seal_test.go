package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

func keyFile(t *testing.T, lines ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(p, []byte("# edgehook keys\n"+strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// rawValues returns every value stored under the fixture's prefix.
func (f *fixture) rawValues() string {
	f.t.Helper()
	resp, err := f.cli.Get(ctxT(f.t), f.prefix+"/", clientv3.WithPrefix())
	if err != nil {
		f.t.Fatal(err)
	}
	var b strings.Builder
	for _, kv := range resp.Kvs {
		b.Write(kv.Key)
		b.WriteByte('=')
		b.Write(kv.Value)
		b.WriteByte('\n')
	}
	return b.String()
}

func TestSealerRoundTrip(t *testing.T) {
	sl, err := LoadSealer(keyFile(t, NewKeyLine("k1")))
	if err != nil {
		t.Fatal(err)
	}
	v := sl.seal("a", "secret")
	if !strings.HasPrefix(v, "edgehook:v1:k1:") || strings.Contains(v, "secret") {
		t.Fatalf("sealed %q", v)
	}
	if got, err := sl.open("a", v); err != nil || got != "secret" {
		t.Fatalf("open = %q, %v", got, err)
	}
	if _, err := sl.open("b", v); err == nil {
		t.Fatal("a value moved to another field opened")
	}
	if got, _ := sl.open("a", "plain"); got != "plain" {
		t.Fatalf("a value in clear: %q", got)
	}
	other, _ := LoadSealer(keyFile(t, NewKeyLine("k2")))
	if _, err := other.open("a", v); !errors.Is(err, ErrSealed) {
		t.Fatalf("open with the wrong key file: %v", err)
	}
	var none *Sealer
	if _, err := none.open("a", v); !errors.Is(err, ErrSealed) {
		t.Fatalf("open without a key file: %v", err)
	}
	for _, bad := range []string{"k1 short", "k1", "k/1 " + strings.Repeat("A", 44), ""} {
		if _, err := LoadSealer(keyFile(t, bad)); err == nil {
			t.Fatalf("key file %q accepted", bad)
		}
	}
}

// With a key file nothing secret is stored in clear; the cache and the
// store read it back; Reencrypt moves everything to a new key, which a
// running cache picks up from the file.
func TestSecretsSealedAtRestAndReencrypted(t *testing.T) {
	k1, k2 := NewKeyLine("k1"), NewKeyLine("k2")
	path := keyFile(t, k1)
	sl, err := LoadSealer(path)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t)
	f.store = NewStore(f.cli, f.prefix, f.prov, WithSealer(sl), WithSecretFields(credFields))
	ctx := ctxT(t)
	if _, err := f.store.PutEnvironment(ctx, "prod", []byte(`{"webhook_secret":"env-secret-1"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.PutIntegration(ctx, "prod", "gh", []byte(`{"provider":"fake","webhook_secret":"integ-secret-1","webhook_secret_previous":"integ-old-1"}`)); err != nil {
		t.Fatal(err)
	}
	f.putConn("c1", `{"config":{"token":"tok-secret-1","team_id":"T1"},"credentials":{"api_key":"cred-secret-1"}}`)
	secrets := []string{"env-secret-1", "integ-secret-1", "integ-old-1", "tok-secret-1", "cred-secret-1"}
	raw := f.rawValues()
	for _, s := range secrets {
		if strings.Contains(raw, s) {
			t.Fatalf("%q stored in clear:\n%s", s, raw)
		}
	}
	if !strings.Contains(raw, `"team_id":"T1"`) {
		t.Fatalf("a routing value was sealed:\n%s", raw)
	}
	c := f.newCache(CacheOptions{Sealer: sl, SecretFields: credFields})
	if e, err := c.Environment(ctx, bEnv); err != nil || e.Secret != "env-secret-1" {
		t.Fatalf("cached environment: %+v, %v", e, err)
	}
	if ig, err := c.Integration(ctx, bEnv, bInteg); err != nil || ig.Instance.(*fakeInstance).secret != "integ-secret-1" {
		t.Fatalf("cached integration: %+v, %v", ig, err)
	}
	if got := lookupIDs(t, c, "token", "tok-secret-1"); len(got) != 1 {
		t.Fatalf("lookup by sealed credential: %q", got)
	}
	conn, err := f.store.GetConnection(ctx, "prod", "gh", "c1")
	if err != nil || string(conn.Credentials["api_key"]) != `"cred-secret-1"` || string(conn.Config["token"]) != `"tok-secret-1"` {
		t.Fatalf("stored connection read back: %+v, %v", conn, err)
	}

	// Rotation: the new key first, the old one kept to open.
	if err := os.WriteFile(path, []byte(k2+"\n"+k1+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sl2, err := LoadSealer(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := NewStore(f.cli, f.prefix, f.prov, WithSealer(sl2), WithSecretFields(credFields)).Reencrypt(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n < 3 {
		t.Fatalf("Reencrypt rewrote %d values, want the environment, integration and connection at least", n)
	}
	raw = f.rawValues()
	if strings.Contains(raw, "edgehook:v1:k1:") {
		t.Fatalf("a value is still sealed with the old key:\n%s", raw)
	}
	time.Sleep(1100 * time.Millisecond) // the cache's sealer reads the file again at most once a second
	eventually(t, 2*time.Second, "the cache opens the re-encrypted environment", func() bool {
		e, err := c.Environment(ctx, bEnv)
		return err == nil && e.Secret == "env-secret-1"
	})
	if n, err := NewStore(f.cli, f.prefix, f.prov, WithSealer(sl2), WithSecretFields(credFields)).Reencrypt(ctx); err != nil || n != 0 {
		t.Fatalf("second Reencrypt: %d, %v; want nothing to do", n, err)
	}
}
