package matchers

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// jwksServer is a JWKS endpoint on 127.0.0.1 whose keys and status the
// test changes.
type jwksServer struct {
	*httptest.Server
	mu     sync.Mutex
	keys   map[string]*rsa.PublicKey
	status int
	hits   atomic.Int64
}

func newJWKSServer(t *testing.T, keys map[string]*rsa.PublicKey) *jwksServer {
	s := &jwksServer{keys: keys, status: 200}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.status != 200 {
			w.WriteHeader(s.status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(jwksJSON(s.keys))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(status int, keys map[string]*rsa.PublicKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status = status
	if keys != nil {
		s.keys = keys
	}
}

// jwksJSON renders keys as Google does, plus a key of another type that
// must be skipped.
func jwksJSON(keys map[string]*rsa.PublicKey) []byte {
	type key struct {
		Kty string `json:"kty"`
		Kid string `json:"kid"`
		Use string `json:"use,omitempty"`
		Alg string `json:"alg,omitempty"`
		N   string `json:"n,omitempty"`
		E   string `json:"e,omitempty"`
		Crv string `json:"crv,omitempty"`
	}
	set := struct {
		Keys []key `json:"keys"`
	}{Keys: []key{{Kty: "EC", Kid: "ec1", Crv: "P-256"}}}
	for kid, k := range keys {
		set.Keys = append(set.Keys, key{Kty: "RSA", Kid: kid, Use: "sig", Alg: "RS256",
			N: base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
			E: base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes())})
	}
	b, _ := json.Marshal(set)
	return b
}

func waitJWKS(t *testing.T, j *JWKS) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := j.Wait(ctx); err != nil {
		t.Fatal(err)
	}
}

// eventually polls f for up to 5 s.
func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if f() {
			return
		}
	}
	t.Fatalf("%s: not within 5 s", what)
}

func TestJWKSRotation(t *testing.T) {
	ks := rsaKeys(t)
	srv := newJWKSServer(t, map[string]*rsa.PublicKey{"k1": &ks[0].PublicKey})
	j, err := OpenJWKS(JWKSConfig{URL: srv.URL, MinRefresh: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	waitJWKS(t, j)
	if j.Key([]byte("k1")) == nil || j.Key([]byte("ec1")) != nil {
		t.Fatal("k1 missing, or the EC key was taken")
	}
	// Google rotates: k2 appears. The first lookup misses and asks for a
	// refresh it does not wait for; the key arrives in the background.
	srv.set(200, map[string]*rsa.PublicKey{"k1": &ks[0].PublicKey, "k2": &ks[1].PublicKey})
	if j.Key([]byte("k2")) != nil {
		t.Fatal("k2 known before any refresh")
	}
	eventually(t, "k2 after an unknown-kid refresh", func() bool { return j.Key([]byte("k2")) != nil })
	o := pushOIDC(t, j)
	tok := signJWT(t, ks[1], `{"alg":"RS256","kid":"k2"}`, string(testClaims(t)[0]))
	if !o.Verify([]byte(tok), time.Unix(1700000100, 0)) {
		t.Fatal("token by the rotated key rejected")
	}
}

func TestJWKSUnknownKidRateLimited(t *testing.T) {
	ks := rsaKeys(t)
	srv := newJWKSServer(t, map[string]*rsa.PublicKey{"k1": &ks[0].PublicKey})
	j, err := OpenJWKS(JWKSConfig{URL: srv.URL, MinRefresh: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	waitJWKS(t, j)
	for range 1000 {
		if j.Key([]byte("nope")) != nil {
			t.Fatal("unknown kid found")
		}
	}
	time.Sleep(200 * time.Millisecond)
	// One fetch at start, at most one for the flood of unknown kids.
	if n := srv.hits.Load(); n > 2 {
		t.Fatalf("%d fetches for a flood of unknown kids; want at most 2", n)
	}
}

func TestJWKSFailureKeepsKeys(t *testing.T) {
	ks := rsaKeys(t)
	srv := newJWKSServer(t, map[string]*rsa.PublicKey{"k1": &ks[0].PublicKey})
	j, err := OpenJWKS(JWKSConfig{URL: srv.URL, MinRefresh: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	waitJWKS(t, j)
	srv.set(500, nil)
	j.Key([]byte("k9")) // nudge a refresh that fails
	eventually(t, "the failed fetch", func() bool { return j.Err() != nil })
	if j.Key([]byte("k1")) == nil {
		t.Fatal("a failed refresh dropped the keys in force")
	}
	// It retries by itself after a backoff (first step 1 s ± 20 %), not at
	// once, and recovers. The snapshot is read directly so no lookup nudges.
	failed := time.Now()
	srv.set(200, map[string]*rsa.PublicKey{"k2": &ks[1].PublicKey})
	eventually(t, "recovery after backoff", func() bool { return (*j.s.keys.Load())["k2"] != nil })
	if d := time.Since(failed); d < 700*time.Millisecond {
		t.Fatalf("retried after %v; want a backoff of about 1 s", d)
	}
}

func TestJWKSSharedAndReleased(t *testing.T) {
	ks := rsaKeys(t)
	srv := newJWKSServer(t, map[string]*rsa.PublicKey{"k1": &ks[0].PublicKey})
	cfg := JWKSConfig{URL: srv.URL, Refresh: 50 * time.Millisecond}
	a, err := OpenJWKS(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := OpenJWKS(cfg)
	if a.s != b.s {
		t.Fatal("two handles on one configuration do not share a set")
	}
	waitJWKS(t, a)
	a, b = nil, nil
	eventually(t, "the refresher to stop once no handle is left", func() bool {
		runtime.GC()
		jwksRegistry.mu.Lock()
		defer jwksRegistry.mu.Unlock()
		return jwksRegistry.sets[JWKSConfig{URL: srv.URL, Refresh: 50 * time.Millisecond, MinRefresh: defaultJWKSMinRefresh}] == nil
	})
	n := srv.hits.Load()
	time.Sleep(200 * time.Millisecond)
	if m := srv.hits.Load(); m > n+1 {
		t.Fatalf("fetches went on after release: %d then %d", n, m)
	}
}

func TestOpenJWKSErrors(t *testing.T) {
	for _, u := range []string{"", "not a url", "http://example.com/certs", "ftp://127.0.0.1/x", "/certs"} {
		if _, err := OpenJWKS(JWKSConfig{URL: u}); err == nil {
			t.Errorf("url %q accepted", u)
		}
	}
}

func TestParseJWKS(t *testing.T) {
	ks := rsaKeys(t)
	if m, err := ParseJWKS(jwksJSON(map[string]*rsa.PublicKey{"a": &ks[0].PublicKey})); err != nil || m["a"] == nil || m["a"].N.Cmp(ks[0].N) != 0 {
		t.Fatalf("ParseJWKS = %v, %v", m, err)
	}
	for name, s := range map[string]string{
		"not json":  `{`,
		"no keys":   `{"keys":[]}`,
		"only EC":   `{"keys":[{"kty":"EC","kid":"e"}]}`,
		"bad n":     `{"keys":[{"kty":"RSA","kid":"a","n":"!!","e":"AQAB"}]}`,
		"short n":   `{"keys":[{"kty":"RSA","kid":"a","n":"AQAB","e":"AQAB"}]}`,
		"even e":    `{"keys":[{"kty":"RSA","kid":"a","n":"` + base64.RawURLEncoding.EncodeToString(ks[0].N.Bytes()) + `","e":"Ag"}]}`,
		"enc usage": `{"keys":[{"kty":"RSA","kid":"a","use":"enc","n":"` + base64.RawURLEncoding.EncodeToString(ks[0].N.Bytes()) + `","e":"AQAB"}]}`,
	} {
		if _, err := ParseJWKS([]byte(s)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
