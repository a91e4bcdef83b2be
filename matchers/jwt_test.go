package matchers

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	testRSAOnce sync.Once
	testRSA     [2]*rsa.PrivateKey
)

// rsaKeys returns two RSA keys generated once per test binary.
func rsaKeys(t testing.TB) [2]*rsa.PrivateKey {
	testRSAOnce.Do(func() {
		for i := range testRSA {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			testRSA[i] = k
		}
	})
	return testRSA
}

// signJWT builds a compact JWS over header and claims (JSON texts).
func signJWT(t testing.TB, k *rsa.PrivateKey, header, claims string) string {
	t.Helper()
	in := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString([]byte(claims))
	d := sha256.Sum256([]byte(in))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, d[:])
	if err != nil {
		t.Fatal(err)
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

type staticKeys map[string]*rsa.PublicKey

func (s staticKeys) Key(kid []byte) *rsa.PublicKey { return s[string(kid)] }

const (
	pushAud   = "https://hooks.example.com/webhook/prod/pubsub"
	pushEmail = "push@proj-1.iam.gserviceaccount.com"
	kidHdr    = `{"alg":"RS256","kid":"k1","typ":"JWT"}`
)

var googleIssuers = []string{"https://accounts.google.com", "accounts.google.com"}

func pushOIDC(t testing.TB, keys RSAKeys) *OIDC {
	t.Helper()
	o, err := CompileOIDC(OIDCConfig{Issuers: googleIssuers, Audience: pushAud, Email: pushEmail, EmailVerified: true}, keys)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func testClaims(t testing.TB) []json.RawMessage {
	var v struct {
		Claims []json.RawMessage `json:"claims"`
	}
	loadVector(t, "oidc_claims.json", &v)
	return v.Claims
}

// claimsWith returns the first test claims with fields replaced (a nil
// value deletes the field).
func claimsWith(t testing.TB, edits map[string]any) string {
	var m map[string]any
	if err := json.Unmarshal(testClaims(t)[0], &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range edits {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func TestOIDC(t *testing.T) {
	ks := rsaKeys(t)
	o := pushOIDC(t, staticKeys{"k1": &ks[0].PublicKey})
	now := time.Unix(1700000100, 0)
	good := signJWT(t, ks[0], kidHdr, string(testClaims(t)[0]))
	tests := []struct {
		name string
		tok  string
		now  time.Time
		want bool
	}{
		{"valid", good, now, true},
		{"aud array, short issuer, fractional exp", signJWT(t, ks[0], kidHdr, string(testClaims(t)[1])), now, true},
		{"email case, nbf, no iat", signJWT(t, ks[0], kidHdr, string(testClaims(t)[2])), now, true},
		{"expired", good, time.Unix(1700003600+31, 0), false},
		{"within skew after exp", good, time.Unix(1700003600+29, 0), true},
		{"issued in the future", good, time.Unix(1700000000-31, 0), false},
		{"other key", signJWT(t, ks[1], kidHdr, string(testClaims(t)[0])), now, false},
		{"unknown kid", signJWT(t, ks[0], `{"alg":"RS256","kid":"k9"}`, string(testClaims(t)[0])), now, false},
		{"no kid", signJWT(t, ks[0], `{"alg":"RS256"}`, string(testClaims(t)[0])), now, false},
		{"alg none", strings.SplitAfter(signJWT(t, ks[0], `{"alg":"none","kid":"k1"}`, string(testClaims(t)[0])), ".")[0] + strings.SplitAfter(good, ".")[1], now, false},
		{"alg HS256", signJWT(t, ks[0], `{"alg":"HS256","kid":"k1"}`, string(testClaims(t)[0])), now, false},
		{"crit header", signJWT(t, ks[0], `{"alg":"RS256","kid":"k1","crit":["x"]}`, string(testClaims(t)[0])), now, false},
		{"wrong issuer", signJWT(t, ks[0], kidHdr, claimsWith(t, map[string]any{"iss": "https://evil.example"})), now, false},
		{"wrong audience", signJWT(t, ks[0], kidHdr, claimsWith(t, map[string]any{"aud": "https://other"})), now, false},
		{"audience array without it", signJWT(t, ks[0], kidHdr, claimsWith(t, map[string]any{"aud": []string{"a", "b"}})), now, false},
		{"wrong email", signJWT(t, ks[0], kidHdr, claimsWith(t, map[string]any{"email": "x@proj-1.iam.gserviceaccount.com"})), now, false},
		{"email unverified", signJWT(t, ks[0], kidHdr, claimsWith(t, map[string]any{"email_verified": false})), now, false},
		{"email_verified as string", signJWT(t, ks[0], kidHdr, claimsWith(t, map[string]any{"email_verified": "true"})), now, false},
		{"no exp", signJWT(t, ks[0], kidHdr, claimsWith(t, map[string]any{"exp": nil})), now, false},
		{"exp as string", signJWT(t, ks[0], kidHdr, claimsWith(t, map[string]any{"exp": "1700003600"})), now, false},
		{"iat as string", signJWT(t, ks[0], kidHdr, claimsWith(t, map[string]any{"iat": "1"})), now, false},
		{"nbf in the future", signJWT(t, ks[0], kidHdr, claimsWith(t, map[string]any{"nbf": 1700000200})), now, false},
		{"claims not an object", signJWT(t, ks[0], kidHdr, `["iss"]`), now, false},
		{"tampered claims", strings.Replace(good, strings.Split(good, ".")[1], base64.RawURLEncoding.EncodeToString([]byte(claimsWith(t, map[string]any{"sub": "2"}))), 1), now, false},
		{"two parts", good[:strings.LastIndexByte(good, '.')], now, false},
		{"four parts", good + ".x", now, false},
		{"empty signature", good[:strings.LastIndexByte(good, '.')+1], now, false},
		{"padded base64", good + "==", now, false},
		{"empty", "", now, false},
	}
	for _, tt := range tests {
		if got := o.Verify([]byte(tt.tok), tt.now); got != tt.want {
			t.Errorf("%s: Verify = %v; want %v", tt.name, got, tt.want)
		}
	}
}

func TestOIDCMatchHeader(t *testing.T) {
	ks := rsaKeys(t)
	o := pushOIDC(t, staticKeys{"k1": &ks[0].PublicKey})
	tok := signJWT(t, ks[0], kidHdr, string(testClaims(t)[0]))
	now := time.Unix(1700000100, 0)
	for _, tt := range []struct {
		v    string
		want bool
	}{{"Bearer " + tok, true}, {"bearer " + tok, true}, {tok, false}, {"Basic " + tok, false}, {"Bearer ", false}, {"", false}} {
		r := newReq("POST", "{}", now, "Authorization", tt.v)
		if ok, err := o.Match(r); ok != tt.want || err != nil {
			t.Errorf("Authorization %.12q: Match = %v, %v; want %v", tt.v, ok, err, tt.want)
		}
	}
}

func TestCompileOIDCErrors(t *testing.T) {
	k := staticKeys{}
	for name, cfg := range map[string]OIDCConfig{
		"no issuer":    {Audience: "a"},
		"no audience":  {Issuers: []string{"i"}},
		"empty issuer": {Issuers: []string{""}, Audience: "a"},
		"neg skew":     {Issuers: []string{"i"}, Audience: "a", Skew: -1},
	} {
		if _, err := CompileOIDC(cfg, k); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := CompileOIDC(OIDCConfig{Issuers: []string{"i"}, Audience: "a"}, nil); err == nil {
		t.Error("nil keys accepted")
	}
}

// FuzzOIDC feeds arbitrary tokens, seeded with tokens signed over the
// testdata claims and broken variants: Verify must not panic, and a token
// it accepts must carry a signature by the test key.
func FuzzOIDC(f *testing.F) {
	ks := rsaKeys(f)
	o := pushOIDC(f, staticKeys{"k1": &ks[0].PublicKey})
	for _, c := range testClaims(f) {
		tok := signJWT(f, ks[0], kidHdr, string(c))
		f.Add(tok)
		f.Add(tok[:len(tok)/2])
		f.Add(strings.Replace(tok, ".", "..", 1))
	}
	now := time.Unix(1700000100, 0)
	f.Fuzz(func(t *testing.T, tok string) {
		if !o.Verify([]byte(tok), now) {
			return
		}
		parts := strings.Split(tok, ".")
		sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
		d := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		if rsa.VerifyPKCS1v15(&ks[0].PublicKey, crypto.SHA256, d[:], sig) != nil {
			t.Fatalf("accepted a token not signed by the key: %q", tok)
		}
	})
}

func BenchmarkOIDC(b *testing.B) {
	ks := rsaKeys(b)
	o := pushOIDC(b, staticKeys{"k1": &ks[0].PublicKey})
	tok := []byte(signJWT(b, ks[0], kidHdr, string(testClaims(b)[0])))
	now := time.Unix(1700000100, 0)
	b.ReportAllocs()
	for b.Loop() {
		if !o.Verify(tok, now) {
			b.Fatal("rejected")
		}
	}
}
