package matchers

import (
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"sync"
	"time"

	"github.com/edgehook/edgehook/provider"
)

// BodyHMACConfig describes an HMAC whose signature and signed values are
// fields of the JSON body (Mailgun's signature{timestamp,token,signature}).
type BodyHMACConfig struct {
	// Signatures are the dotted JSON paths of the signature and of any
	// alternative one (Mailgun's parent-signature, made with the parent
	// account's key); any valid one is enough.
	Signatures []string
	// Signed are the paths of the values signed, concatenated in order.
	Signed []string
	// Timestamp, when set, is the path of a signed Unix-seconds timestamp
	// that must be within Tolerance of Request.Now.
	Timestamp string
	// Tolerance is the replay window; 0 means DefaultTolerance.
	Tolerance time.Duration
	// Algorithm is the HMAC hash; empty means SHA256.
	Algorithm Algorithm
	// Encoding of the signature; empty means Hex.
	Encoding Encoding
}

// BodyHMAC is a compiled BodyHMACConfig, safe for concurrent use.
type BodyHMAC struct {
	sigs   []Path
	signed []Path
	tsPath Path
	ts     timestampCheck
	enc    Encoding
	size   int
	nkeys  int
	pool   sync.Pool // *bodyHasher
}

// bodyHasher is hasher plus room to unescape a signed value.
type bodyHasher struct {
	hasher
	scratch [maxSignedValue]byte
}

// maxSignedValue bounds one signed value once unescaped.
const maxSignedValue = 512

// CompileBodyHMAC builds the matcher for secret and, during a rotation,
// previous (empty when none).
func CompileBodyHMAC(cfg BodyHMACConfig, secret, previous []byte) (*BodyHMAC, error) {
	if len(secret) == 0 {
		return nil, errors.New("matchers: body hmac: secret is required")
	}
	if len(cfg.Signed) == 0 {
		return nil, errors.New("matchers: body hmac: signed paths are required")
	}
	newHash, size, err := cfg.Algorithm.hash()
	if err != nil {
		return nil, fmt.Errorf("matchers: body hmac: %w", err)
	}
	if err := cfg.Encoding.check(); err != nil {
		return nil, fmt.Errorf("matchers: body hmac: %w", err)
	}
	if len(cfg.Signatures) == 0 {
		return nil, errors.New("matchers: body hmac: a signature path is required")
	}
	m := &BodyHMAC{enc: cfg.Encoding, size: size}
	for _, s := range cfg.Signatures {
		p, err := CompilePath(s)
		if err != nil {
			return nil, fmt.Errorf("matchers: body hmac: signature: %w", err)
		}
		m.sigs = append(m.sigs, p)
	}
	for _, s := range cfg.Signed {
		p, err := CompilePath(s)
		if err != nil {
			return nil, fmt.Errorf("matchers: body hmac: signed: %w", err)
		}
		m.signed = append(m.signed, p)
	}
	if cfg.Timestamp != "" {
		if m.tsPath, err = CompilePath(cfg.Timestamp); err != nil {
			return nil, fmt.Errorf("matchers: body hmac: timestamp: %w", err)
		}
	}
	if m.ts, err = newTimestampCheck(UnixSeconds, cfg.Tolerance); err != nil {
		return nil, fmt.Errorf("matchers: body hmac: %w", err)
	}
	var fill func(*[2]hash.Hash)
	m.nkeys, fill = keyedHashes(newHash, secret, previous)
	m.pool.New = func() any {
		h := new(bodyHasher)
		fill(&h.h)
		return h
	}
	return m, nil
}

// Match reports whether the body is valid JSON one of whose signature
// fields is a valid signature of its signed fields with one of the secrets,
// and whose timestamp is fresh. Anything missing, malformed, stale or wrong is
// (false, nil). It does not allocate.
func (m *BodyHMAC) Match(r *provider.Request) (bool, error) {
	body := r.Body()
	if !json.Valid(body) {
		return false, nil
	}
	if !m.tsPath.IsZero() {
		ts, ok := m.tsPath.Text(body, nil)
		if !ok || !m.ts.fresh(ts, r.Now) {
			return false, nil
		}
	}
	h := m.pool.Get().(*bodyHasher)
	defer m.pool.Put(h)
	for i := range m.nkeys {
		h.h[i].Reset()
	}
	for _, p := range m.signed {
		s, ok := p.Text(body, h.scratch[:0])
		if !ok {
			return false, nil
		}
		for i := range m.nkeys {
			h.h[i].Write(s)
		}
	}
	for i := range m.nkeys {
		h.h[i].Sum(h.mac[i][:0])
	}
	found := false
	for _, p := range m.sigs {
		v, ok := p.Text(body, nil)
		if !ok || len(v) == 0 {
			continue
		}
		got, ok := m.enc.decode(h.sig[:], v, m.size)
		if !ok {
			continue
		}
		for i := range m.nkeys {
			if hmac.Equal(got, h.mac[i][:m.size]) {
				found = true
			}
		}
	}
	return found, nil
}
