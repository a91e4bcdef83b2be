package matchers

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// GoogleJWKSURL is where Google publishes the keys that sign its OIDC ID
// tokens (Pub/Sub push authentication).
const GoogleJWKSURL = "https://www.googleapis.com/oauth2/v3/certs"

// JWKSConfig describes a JSON Web Key Set to fetch and keep fresh.
type JWKSConfig struct {
	// URL of the key set: https, or http to a loopback host (tests).
	URL string
	// Refresh is the time between successful fetches; 0 means 1 h.
	Refresh time.Duration
	// MinRefresh is the least time between two fetches triggered by an
	// unknown key id; 0 means 30 s.
	MinRefresh time.Duration
}

// Fetch timing defaults and bounds.
const (
	defaultJWKSRefresh    = time.Hour
	defaultJWKSMinRefresh = 30 * time.Second
	jwksFetchTimeout      = 10 * time.Second
	jwksMaxBackoff        = 5 * time.Minute
	jwksMaxBody           = 1 << 20
)

// JWKS is a handle on a shared, self-refreshing RSA key set. Handles on the
// same configuration share one set and one background refresher, which
// stops once no handle is reachable. The request path (Key) only reads an
// atomic snapshot; it never fetches and never waits.
type JWKS struct{ s *jwksSet }

// jwksSet is the state shared by the handles of one configuration.
type jwksSet struct {
	cfg    JWKSConfig
	client *http.Client
	keys   atomic.Pointer[map[string]*rsa.PublicKey]
	nudge  chan struct{}
	// lastNudge is the Unix nanosecond time of the last accepted nudge.
	lastNudge atomic.Int64
	loaded    chan struct{} // closed after the first successful fetch
	lastErr   atomic.Pointer[error]
	fetches   atomic.Int64
	cancel    context.CancelFunc
	refs      int // guarded by jwksRegistry.mu
}

var jwksRegistry struct {
	mu   sync.Mutex
	sets map[JWKSConfig]*jwksSet
}

// OpenJWKS returns a handle on the key set cfg describes, starting its
// background refresher if no handle on it is open. It does not wait for the
// first fetch (see Wait).
func OpenJWKS(cfg JWKSConfig) (*JWKS, error) {
	if err := checkJWKSURL(cfg.URL); err != nil {
		return nil, err
	}
	if cfg.Refresh < 0 || cfg.MinRefresh < 0 {
		return nil, errors.New("matchers: jwks: negative refresh interval")
	}
	if cfg.Refresh == 0 {
		cfg.Refresh = defaultJWKSRefresh
	}
	if cfg.MinRefresh == 0 {
		cfg.MinRefresh = defaultJWKSMinRefresh
	}
	jwksRegistry.mu.Lock()
	defer jwksRegistry.mu.Unlock()
	s := jwksRegistry.sets[cfg]
	if s == nil {
		s = newJWKSSet(cfg)
		if jwksRegistry.sets == nil {
			jwksRegistry.sets = map[JWKSConfig]*jwksSet{}
		}
		jwksRegistry.sets[cfg] = s
	}
	s.refs++
	h := &JWKS{s: s}
	runtime.AddCleanup(h, releaseJWKS, s)
	return h, nil
}

// releaseJWKS drops one handle's reference; the last one stops the
// refresher.
func releaseJWKS(s *jwksSet) {
	jwksRegistry.mu.Lock()
	defer jwksRegistry.mu.Unlock()
	if s.refs--; s.refs == 0 {
		delete(jwksRegistry.sets, s.cfg)
		s.cancel()
	}
}

func checkJWKSURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("matchers: jwks: url %q is not an absolute URL", raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if h := u.Hostname(); h == "localhost" || net.ParseIP(h).IsLoopback() {
			return nil
		}
	}
	return fmt.Errorf("matchers: jwks: url %q must be https (http only to a loopback host)", raw)
}

func newJWKSSet(cfg JWKSConfig) *jwksSet {
	ctx, cancel := context.WithCancel(context.Background())
	s := &jwksSet{
		cfg:    cfg,
		client: &http.Client{Timeout: jwksFetchTimeout},
		nudge:  make(chan struct{}, 1),
		loaded: make(chan struct{}),
		cancel: cancel,
	}
	empty := map[string]*rsa.PublicKey{}
	s.keys.Store(&empty)
	go s.run(ctx)
	return s
}

// Key returns the key with id kid from the current snapshot, or nil. An
// unknown kid asks the refresher for an early fetch, at most once per
// MinRefresh; the caller does not wait for it.
func (j *JWKS) Key(kid []byte) *rsa.PublicKey {
	if k := (*j.s.keys.Load())[string(kid)]; k != nil {
		return k
	}
	j.s.askRefresh()
	return nil
}

// Wait blocks until the first fetch has succeeded or ctx is done.
func (j *JWKS) Wait(ctx context.Context) error {
	select {
	case <-j.s.loaded:
		return nil
	case <-ctx.Done():
		if err := j.Err(); err != nil {
			return fmt.Errorf("%w (last fetch: %v)", ctx.Err(), err)
		}
		return ctx.Err()
	}
}

// Err returns the error of the last fetch, nil when it succeeded.
func (j *JWKS) Err() error {
	if p := j.s.lastErr.Load(); p != nil {
		return *p
	}
	return nil
}

// Fetches returns how many fetches have been attempted (for tests and
// metrics).
func (j *JWKS) Fetches() int64 { return j.s.fetches.Load() }

func (s *jwksSet) askRefresh() {
	now := time.Now().UnixNano()
	last := s.lastNudge.Load()
	if now-last < int64(s.cfg.MinRefresh) || !s.lastNudge.CompareAndSwap(last, now) {
		return
	}
	select {
	case s.nudge <- struct{}{}:
	default:
	}
}

// run fetches at once, then every Refresh after a success, with jittered
// exponential backoff (1 s doubling to 5 min) after a failure, and early
// when nudged, never more often than MinRefresh for nudges.
func (s *jwksSet) run(ctx context.Context) {
	failures := 0
	var last time.Time
	for {
		last = time.Now()
		err := s.fetch(ctx)
		if ctx.Err() != nil {
			return
		}
		wait := s.cfg.Refresh
		if err != nil {
			s.lastErr.Store(&err)
			failures++
			wait = jitter(min(time.Second<<min(failures-1, 20), jwksMaxBackoff))
			slog.Warn("matchers: jwks: fetch failed", "url", s.cfg.URL, "err", err, "retry_in", wait)
		} else {
			s.lastErr.Store(nil)
			failures = 0
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-s.nudge:
			t.Stop()
			if d := s.cfg.MinRefresh - time.Since(last); d > 0 && err == nil {
				if !sleep(ctx, d) {
					return
				}
			}
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// jitter spreads d by ±20 %.
func jitter(d time.Duration) time.Duration {
	return d + time.Duration((rand.Float64()*0.4-0.2)*float64(d))
}

// fetch downloads and parses the key set, and on success replaces the
// snapshot. A failure keeps the previous keys in force.
func (s *jwksSet) fetch(ctx context.Context) error {
	s.fetches.Add(1)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.cfg.URL, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("matchers: jwks: %s answered %s", s.cfg.URL, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, jwksMaxBody+1))
	if err != nil {
		return err
	}
	if len(body) > jwksMaxBody {
		return fmt.Errorf("matchers: jwks: %s: key set larger than %d bytes", s.cfg.URL, jwksMaxBody)
	}
	keys, err := ParseJWKS(body)
	if err != nil {
		return fmt.Errorf("matchers: jwks: %s: %w", s.cfg.URL, err)
	}
	s.keys.Store(&keys)
	select {
	case <-s.loaded:
	default:
		close(s.loaded)
	}
	return nil
}

// jwk is one JSON Web Key; only RSA signing keys are used.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
}

// ParseJWKS parses a JSON Web Key Set and returns its RSA signature keys
// (kty RSA, use sig or absent, alg RS256 or absent) by key id. Other keys
// are skipped; a set with no usable key, or a malformed RSA key, is an
// error.
func ParseJWKS(b []byte) (map[string]*rsa.PublicKey, error) {
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("decoding key set: %w", err)
	}
	out := map[string]*rsa.PublicKey{}
	for _, k := range set.Keys {
		if k.Kty != "RSA" || k.Use != "" && k.Use != "sig" || k.Alg != "" && k.Alg != "RS256" || k.Kid == "" {
			continue
		}
		pub, err := rsaKey(k.N, k.E)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k.Kid, err)
		}
		out[k.Kid] = pub
	}
	if len(out) == 0 {
		return nil, errors.New("key set has no RSA signature key")
	}
	return out, nil
}

func rsaKey(n64, e64 string) (*rsa.PublicKey, error) {
	n, err := base64.RawURLEncoding.DecodeString(n64)
	if err != nil {
		return nil, fmt.Errorf("modulus: %w", err)
	}
	e, err := base64.RawURLEncoding.DecodeString(e64)
	if err != nil {
		return nil, fmt.Errorf("exponent: %w", err)
	}
	if len(n) < 256 || len(n) > maxRSASigSize {
		return nil, fmt.Errorf("modulus of %d bits is out of range (2048 to 8192)", 8*len(n))
	}
	if len(e) == 0 || len(e) > 4 {
		return nil, errors.New("exponent out of range")
	}
	var ev int
	for _, c := range e {
		ev = ev<<8 | int(c)
	}
	if ev < 3 || ev%2 == 0 {
		return nil, errors.New("exponent out of range")
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: ev}, nil
}
