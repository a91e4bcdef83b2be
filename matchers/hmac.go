package matchers

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"sync"
	"time"

	"github.com/edgehook/edgehook/provider"
)

// Algorithm names the hash of an HMAC.
type Algorithm string

// Algorithms.
const (
	SHA1   Algorithm = "sha1"
	SHA256 Algorithm = "sha256"
	SHA512 Algorithm = "sha512"
)

func (a Algorithm) hash() (func() hash.Hash, int, error) {
	switch a {
	case SHA1:
		return sha1.New, sha1.Size, nil
	case SHA256, "":
		return sha256.New, sha256.Size, nil
	case SHA512:
		return sha512.New, sha512.Size, nil
	}
	return nil, 0, fmt.Errorf("matchers: unknown algorithm %q (want sha1, sha256 or sha512)", string(a))
}

// HMACConfig describes an HMAC signature scheme. Most providers are one
// HMACConfig; see the plugins for examples.
type HMACConfig struct {
	// Header carries the signature(s), e.g. "X-Hub-Signature-256".
	Header string
	// AltHeader is another name of Header, read when Header is absent or
	// empty (Shopify's unprefixed "shopify-hmac-sha256").
	AltHeader string
	// Plain makes the signature a plain digest of the secret followed by
	// the signed content, Hash(secret + content), instead of an HMAC
	// (HubSpot's v1 and v2 signatures).
	Plain bool
	// Algorithm is the HMAC hash; empty means SHA256.
	Algorithm Algorithm
	// Encoding of the signature; empty means Hex.
	Encoding Encoding
	// Prefix precedes each signature and is stripped ("sha256=", "v0=",
	// "v1=", "v1,"). An entry without it is ignored.
	Prefix string
	// Separator splits a header holding a list of entries (',' Stripe,
	// ';' Paddle, ' ' Standard Webhooks); 0 means the whole header is one
	// entry. Spaces around entries are trimmed. Any matching signature is
	// enough.
	Separator byte
	// Signed is the signed-content template (see ParseTemplate); empty
	// means "{body}".
	Signed string
	// TimestampHeader carries the timestamp ({timestamp}); when set, a
	// missing, malformed or stale timestamp fails the match.
	TimestampHeader string
	// TimestampKey names the list entry holding the timestamp instead of a
	// header ("t" for "t=…,v1=…"). Requires Separator.
	TimestampKey string
	// TimestampPath is a dotted JSON path (see CompilePath) of the body
	// field holding the timestamp, instead of a header (Linear's
	// webhookTimestamp).
	//
	// Whatever carries the timestamp must be signed, or a replayed
	// signature would pass with any timestamp: a TimestampHeader or
	// TimestampKey needs {timestamp} in Signed, a TimestampPath needs
	// {body}.
	TimestampPath string
	// TimestampFormat is how the timestamp is written; empty means Unix
	// seconds.
	TimestampFormat TimestampFormat
	// Tolerance is the largest accepted distance between the timestamp and
	// Request.Now, either way; 0 means DefaultTolerance.
	Tolerance time.Duration
	// IDHeader carries the message id ({id}).
	IDHeader string
}

// DefaultTolerance is the replay window used when HMACConfig.Tolerance is 0.
const DefaultTolerance = 5 * time.Minute

// maxMAC is the largest MAC size (SHA-512).
const maxMAC = sha512.Size

// HMAC is a compiled HMAC matcher. It is immutable after CompileHMAC and
// safe for concurrent use.
type HMAC struct {
	header   string
	alt      string
	plain    bool
	keys     [2][]byte
	prefix   []byte
	sep      byte
	enc      Encoding
	size     int
	tmpl     Template
	tsHeader string
	tsKey    []byte // "t=" for TimestampKey "t"
	tsPath   Path
	ts       timestampCheck
	idHeader string
	nkeys    int
	pool     sync.Pool // *hasher
}

// hasher is the per-request scratch space: one keyed hash per secret and
// the buffers Sum and decoding write into. Pooled, so Match does not
// allocate.
type hasher struct {
	h   [2]hash.Hash
	mac [2][maxMAC]byte
	sig [maxMAC + 4]byte
}

// CompileHMAC validates cfg and builds the matcher for secret and, during a
// rotation, previous (nil or empty when there is none). The keys are used as
// given; decode them first for schemes with encoded keys.
func CompileHMAC(cfg HMACConfig, secret, previous []byte) (*HMAC, error) {
	if cfg.Header == "" {
		return nil, errors.New("matchers: hmac: header is required")
	}
	if len(secret) == 0 {
		return nil, errors.New("matchers: hmac: secret is required")
	}
	newHash, size, err := cfg.Algorithm.hash()
	if err != nil {
		return nil, err
	}
	if err := cfg.Encoding.check(); err != nil {
		return nil, err
	}
	tmpl, err := ParseTemplate(cfg.Signed)
	if err != nil {
		return nil, err
	}
	ts, err := newTimestampCheck(cfg.TimestampFormat, cfg.Tolerance)
	if err != nil {
		return nil, err
	}
	m := &HMAC{
		header: cfg.Header, alt: cfg.AltHeader, plain: cfg.Plain, prefix: []byte(cfg.Prefix), sep: cfg.Separator,
		enc: cfg.Encoding, size: size, tmpl: tmpl, tsHeader: cfg.TimestampHeader,
		ts: ts, idHeader: cfg.IDHeader, nkeys: 1,
	}
	if err := m.checkShape(cfg); err != nil {
		return nil, err
	}
	m.keys = [2][]byte{append([]byte(nil), secret...), append([]byte(nil), previous...)}
	if len(previous) > 0 {
		m.nkeys = 2
	}
	m.pool.New = func() any {
		h := new(hasher)
		for i := range m.nkeys {
			if m.plain {
				h.h[i] = newHash()
			} else {
				h.h[i] = hmac.New(newHash, m.keys[i])
			}
		}
		return h
	}
	return m, nil
}

// checkShape validates the header shape and the template's inputs.
func (m *HMAC) checkShape(cfg HMACConfig) error {
	switch cfg.Separator {
	case 0, ',', ';', ' ':
	default:
		return fmt.Errorf("matchers: hmac: unsupported separator %q", cfg.Separator)
	}
	sources := 0
	for _, src := range []string{cfg.TimestampHeader, cfg.TimestampKey, cfg.TimestampPath} {
		if src != "" {
			sources++
		}
	}
	if sources > 1 {
		return errors.New("matchers: hmac: timestamp header, timestamp key and timestamp path are exclusive")
	}
	if cfg.TimestampKey != "" {
		if cfg.Separator == 0 {
			return errors.New("matchers: hmac: timestamp key needs a separator")
		}
		m.tsKey = []byte(cfg.TimestampKey + "=")
	}
	if cfg.TimestampPath != "" {
		p, err := CompilePath(cfg.TimestampPath)
		if err != nil {
			return fmt.Errorf("matchers: hmac: timestamp path: %w", err)
		}
		m.tsPath = p
	}
	if m.tmpl.uses[partTimestamp] && !m.timed() {
		return errors.New("matchers: hmac: template uses {timestamp} but no timestamp header or key is set")
	}
	if (cfg.TimestampHeader != "" || cfg.TimestampKey != "") && !m.tmpl.uses[partTimestamp] {
		return errors.New("matchers: hmac: the timestamp is not signed: the template must use {timestamp}, or a replayed signature passes with any timestamp")
	}
	if cfg.TimestampPath != "" && !m.tmpl.uses[partBody] {
		return errors.New("matchers: hmac: the timestamp path is not signed: the template must use {body}")
	}
	if m.tmpl.uses[partID] && m.idHeader == "" {
		return errors.New("matchers: hmac: template uses {id} but no id header is set")
	}
	return nil
}

func (m *HMAC) timed() bool { return m.tsHeader != "" || m.tsKey != nil || !m.tsPath.IsZero() }

// SignsURL reports whether the signed content includes {url}; a plugin
// using such a matcher implements provider.URLSigner.
func (m *HMAC) SignsURL() bool { return m.tmpl.uses[partURL] }

// Match reports whether r carries a valid signature made with one of the
// secrets, with a fresh timestamp when the scheme has one. A missing,
// malformed or wrong signature and a stale timestamp are (false, nil).
// It does not allocate.
func (m *HMAC) Match(r *provider.Request) (bool, error) {
	v := r.Header(m.header)
	if len(v) == 0 && m.alt != "" {
		v = r.Header(m.alt)
	}
	if len(v) == 0 {
		return false, nil
	}
	var ts []byte
	switch {
	case m.tsHeader != "":
		ts = r.Header(m.tsHeader)
	case m.tsKey != nil:
		ts = listValue(v, m.sep, m.tsKey)
	case !m.tsPath.IsZero():
		ts, _ = m.tsPath.Text(r.Body(), nil)
	}
	if m.timed() && !m.ts.fresh(ts, r.Now) {
		return false, nil
	}
	var id []byte
	if m.tmpl.uses[partID] {
		if id = r.Header(m.idHeader); len(id) == 0 {
			return false, nil
		}
	}
	h := m.pool.Get().(*hasher)
	m.sum(h, r, ts, id)
	ok := m.compare(h, v)
	m.pool.Put(h)
	return ok, nil
}

// sum computes the MAC of the signed content for each secret into h.mac.
func (m *HMAC) sum(h *hasher, r *provider.Request, ts, id []byte) {
	for i := range m.nkeys {
		hh := h.h[i]
		hh.Reset()
		if m.plain {
			hh.Write(m.keys[i])
		}
		for _, p := range m.tmpl.parts {
			switch p.kind {
			case partLiteral:
				hh.Write(p.lit)
			case partBody:
				hh.Write(r.Body())
			case partTimestamp:
				hh.Write(ts)
			case partID:
				hh.Write(id)
			case partMethod:
				hh.Write(r.Req.Header.Method())
			case partURL:
				hh.Write(r.URL)
			}
		}
		hh.Sum(h.mac[i][:0])
	}
}

// compare reports whether any signature entry of header value v equals one
// of the MACs in h.
func (m *HMAC) compare(h *hasher, v []byte) bool {
	found := false
	for rest := v; len(rest) > 0; {
		var sig []byte
		sig, rest = nextSignature(rest, m.sep, m.prefix)
		if sig == nil {
			continue
		}
		got, ok := m.enc.decode(h.sig[:], sig, m.size)
		if !ok {
			continue
		}
		for i := range m.nkeys {
			if hmac.Equal(got, h.mac[i][:m.size]) {
				found = true
			}
		}
	}
	return found
}
