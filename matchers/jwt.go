package matchers

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"sync"
	"time"

	"github.com/buger/jsonparser"

	"github.com/edgehook/edgehook/provider"
)

// RSAKeys finds an RSA public key by its JWT key id ("kid"); nil when it
// is unknown. A *JWKS is one.
type RSAKeys interface {
	Key(kid []byte) *rsa.PublicKey
}

// OIDCConfig describes which OIDC ID tokens (RS256 JWTs) are accepted, for
// Google Pub/Sub push authentication.
type OIDCConfig struct {
	// Header carries "Bearer <token>"; empty means "Authorization".
	Header string
	// Issuers lists the accepted "iss" values; at least one.
	Issuers []string
	// Audience must equal "aud" (or be one of its values).
	Audience string
	// Email, when set, must equal the "email" claim (ASCII case-insensitive).
	Email string
	// EmailVerified requires "email_verified": true.
	EmailVerified bool
	// Skew is the clock skew allowed on exp, iat and nbf; 0 means
	// DefaultSkew.
	Skew time.Duration
}

// DefaultSkew is the clock skew allowed on JWT times when OIDCConfig.Skew
// is 0.
const DefaultSkew = 30 * time.Second

// Bounds on a token's parts, so that decoding uses fixed buffers.
const (
	maxJWTHeader  = 1 << 10
	maxJWTClaims  = 8 << 10
	maxRSASigSize = 1024 // 8192-bit keys
)

// OIDC is a compiled ID-token matcher, safe for concurrent use.
type OIDC struct {
	header   string
	issuers  [][]byte
	audience []byte
	email    []byte
	verified bool
	skew     time.Duration
	keys     RSAKeys
}

// CompileOIDC builds an ID-token matcher verifying signatures with keys.
func CompileOIDC(cfg OIDCConfig, keys RSAKeys) (*OIDC, error) {
	if keys == nil {
		return nil, errors.New("matchers: oidc: a key source is required")
	}
	if len(cfg.Issuers) == 0 {
		return nil, errors.New("matchers: oidc: at least one issuer is required")
	}
	if cfg.Audience == "" {
		return nil, errors.New("matchers: oidc: audience is required")
	}
	if cfg.Skew < 0 {
		return nil, fmt.Errorf("matchers: oidc: negative skew %s", cfg.Skew)
	}
	o := &OIDC{header: cfg.Header, audience: []byte(cfg.Audience), email: []byte(cfg.Email),
		verified: cfg.EmailVerified, skew: cfg.Skew, keys: keys}
	if o.header == "" {
		o.header = "Authorization"
	}
	if o.skew == 0 {
		o.skew = DefaultSkew
	}
	for _, iss := range cfg.Issuers {
		if iss == "" {
			return nil, errors.New("matchers: oidc: empty issuer")
		}
		o.issuers = append(o.issuers, []byte(iss))
	}
	return o, nil
}

var bearer = []byte("Bearer ")

// Match reports whether r carries "Bearer <token>" with a valid token. A
// missing, malformed, expired, wrongly signed token, or one with the wrong
// claims, is (false, nil). It allocates only inside crypto/rsa.
func (o *OIDC) Match(r *provider.Request) (bool, error) {
	v := r.Header(o.header)
	if len(v) < len(bearer) || !bytes.EqualFold(v[:len(bearer)], bearer) {
		return false, nil
	}
	return o.Verify(bytes.TrimSpace(v[len(bearer):]), r.Now), nil
}

// jwtBufs is the per-call scratch space of Verify, pooled.
type jwtBufs struct {
	claims [maxJWTClaims]byte
	sig    [maxRSASigSize]byte
	h      hash.Hash
}

var jwtPool = sync.Pool{New: func() any { return &jwtBufs{h: sha256.New()} }}

// Verify reports whether tok is an RS256 JWT signed by a known key whose
// claims satisfy the configuration at time now (the current time when
// zero).
func (o *OIDC) Verify(tok []byte, now time.Time) bool {
	if now.IsZero() {
		now = time.Now()
	}
	d1 := bytes.IndexByte(tok, '.')
	if d1 <= 0 || bytes.IndexByte(tok, '=') >= 0 { // JWS base64url is unpadded
		return false
	}
	d2 := bytes.IndexByte(tok[d1+1:], '.') + d1 + 1
	if d2 <= d1+1 || d2 == len(tok)-1 || bytes.IndexByte(tok[d2+1:], '.') >= 0 {
		return false
	}
	var hdrBuf [maxJWTHeader]byte
	hdr, ok := Base64URL.decodeVar(hdrBuf[:], tok[:d1])
	if !ok {
		return false
	}
	kid, ok := checkJWTHeader(hdr)
	if !ok {
		return false
	}
	b := jwtPool.Get().(*jwtBufs)
	defer jwtPool.Put(b)
	claims, ok := Base64URL.decodeVar(b.claims[:], tok[d1+1:d2])
	if !ok || !o.checkClaims(claims, now) {
		return false
	}
	sig, ok := Base64URL.decodeVar(b.sig[:], tok[d2+1:])
	if !ok {
		return false
	}
	key := o.keys.Key(kid)
	if key == nil {
		return false
	}
	b.h.Reset()
	b.h.Write(tok[:d2])
	var digest [sha256.Size]byte
	b.h.Sum(digest[:0])
	return rsa.VerifyPKCS1v15(key, crypto.SHA256, digest[:], sig) == nil
}

// checkJWTHeader accepts only alg RS256 with a key id and no critical
// extensions, and returns the key id (borrowed from hdr).
func checkJWTHeader(hdr []byte) (kid []byte, ok bool) {
	alg, t, _, err := jsonparser.Get(hdr, "alg")
	if err != nil || t != jsonparser.String || string(alg) != "RS256" {
		return nil, false
	}
	if _, _, _, err := jsonparser.Get(hdr, "crit"); err != jsonparser.KeyPathNotFoundError {
		return nil, false
	}
	kid, t, _, err = jsonparser.Get(hdr, "kid")
	if err != nil || t != jsonparser.String || len(kid) == 0 || bytes.IndexByte(kid, '\\') >= 0 {
		return nil, false
	}
	return kid, true
}

// checkClaims checks iss, aud, exp, iat, nbf, email and email_verified.
func (o *OIDC) checkClaims(c []byte, now time.Time) bool {
	if !jsonObject(c) {
		return false
	}
	var scratch [256]byte
	iss, ok := claimString(c, scratch[:], "iss")
	if !ok || !o.issuerOK(iss) {
		return false
	}
	if !o.audienceOK(c) {
		return false
	}
	exp, ok := claimTime(c, "exp")
	if !ok || !now.Before(exp.Add(o.skew)) {
		return false
	}
	for _, k := range [...]string{"iat", "nbf"} {
		if t, ok := claimTime(c, k); ok && t.After(now.Add(o.skew)) {
			return false
		} else if !ok && claimPresent(c, k) {
			return false
		}
	}
	if len(o.email) > 0 {
		email, ok := claimString(c, scratch[:], "email")
		if !ok || !bytes.EqualFold(email, o.email) {
			return false
		}
	}
	if o.verified {
		v, t, _, err := jsonparser.Get(c, "email_verified")
		if err != nil || t != jsonparser.Boolean || string(v) != "true" {
			return false
		}
	}
	return true
}

func (o *OIDC) issuerOK(iss []byte) bool {
	for _, want := range o.issuers {
		if bytes.Equal(iss, want) {
			return true
		}
	}
	return false
}

// audienceOK accepts "aud" as a string equal to the audience, or an array
// holding it.
func (o *OIDC) audienceOK(c []byte) bool {
	v, t, _, err := jsonparser.Get(c, "aud")
	if err != nil {
		return false
	}
	var scratch [256]byte
	switch t {
	case jsonparser.String:
		s, ok := unescapeInto(v, scratch[:])
		return ok && bytes.Equal(s, o.audience)
	case jsonparser.Array:
		found := false
		jsonparser.ArrayEach(v, func(e []byte, et jsonparser.ValueType, _ int, _ error) {
			if et == jsonparser.String {
				if s, ok := unescapeInto(e, scratch[:]); ok && bytes.Equal(s, o.audience) {
					found = true
				}
			}
		})
		return found
	}
	return false
}

// jsonObject reports whether c is one valid JSON object.
func jsonObject(c []byte) bool {
	c = bytes.TrimSpace(c)
	return len(c) > 1 && c[0] == '{' && json.Valid(c)
}

// claimString returns the string claim key, unescaped into scratch when
// needed.
func claimString(c, scratch []byte, key string) ([]byte, bool) {
	v, t, _, err := jsonparser.Get(c, key)
	if err != nil || t != jsonparser.String {
		return nil, false
	}
	return unescapeInto(v, scratch)
}

func unescapeInto(v, scratch []byte) ([]byte, bool) {
	if bytes.IndexByte(v, '\\') < 0 {
		return v, true
	}
	u, err := jsonparser.Unescape(v, scratch[:0])
	if err != nil || len(u) > 0 && &u[0] != &scratch[0] {
		return nil, false // does not fit: no claim we check is that long
	}
	return u, true
}

// claimTime reads a NumericDate claim (seconds, fraction ignored).
func claimTime(c []byte, key string) (time.Time, bool) {
	v, t, _, err := jsonparser.Get(c, key)
	if err != nil || t != jsonparser.Number {
		return time.Time{}, false
	}
	if i := bytes.IndexByte(v, '.'); i >= 0 {
		v = v[:i]
	}
	n, ok := parseUint(v)
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(n, 0), true
}

func claimPresent(c []byte, key string) bool {
	_, _, _, err := jsonparser.Get(c, key)
	return err != jsonparser.KeyPathNotFoundError
}
