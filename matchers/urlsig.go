package matchers

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"slices"
	"sync"

	"github.com/edgehook/edgehook/provider"
)

// URLParamsConfig describes a signature over the URL the provider called
// followed by the POST form parameters sorted by name, each written as
// name + value (Twilio's X-Twilio-Signature).
type URLParamsConfig struct {
	// Header carries the signature ("X-Twilio-Signature").
	Header string
	// Algorithm is the HMAC hash; empty means SHA1.
	Algorithm Algorithm
	// Encoding of the signature; empty means Base64.
	Encoding Encoding
	// BodyHashParam names the URL query parameter that, when present,
	// carries the hex SHA-256 of a non-form body ("bodySHA256"): the
	// signature then covers the URL alone and the body must match the hash.
	BodyHashParam string
}

// URLParams is a compiled URL-and-parameters HMAC matcher, safe for
// concurrent use. It needs Request.URL: a plugin using it implements
// provider.URLSigner.
type URLParams struct {
	header    string
	enc       Encoding
	size      int
	bodyParam string
	nkeys     int
	pool      sync.Pool // *urlHasher
}

type urlHasher struct {
	h     [2]hash.Hash
	mac   [maxMAC]byte
	sig   [maxMAC + 4]byte
	pairs []kv
}

type kv struct{ k, v []byte }

// CompileURLParams builds the matcher for secret and, during a rotation,
// previous (empty when none).
func CompileURLParams(cfg URLParamsConfig, secret, previous []byte) (*URLParams, error) {
	if cfg.Header == "" {
		return nil, errors.New("matchers: url params: header is required")
	}
	if len(secret) == 0 {
		return nil, errors.New("matchers: url params: secret is required")
	}
	if cfg.Algorithm == "" {
		cfg.Algorithm = SHA1
	}
	if cfg.Encoding == "" {
		cfg.Encoding = Base64
	}
	newHash, size, err := cfg.Algorithm.hash()
	if err != nil {
		return nil, fmt.Errorf("matchers: url params: %w", err)
	}
	if err := cfg.Encoding.check(); err != nil {
		return nil, fmt.Errorf("matchers: url params: %w", err)
	}
	m := &URLParams{header: cfg.Header, enc: cfg.Encoding, size: size, bodyParam: cfg.BodyHashParam}
	var fill func(*[2]hash.Hash)
	m.nkeys, fill = keyedHashes(newHash, secret, previous)
	m.pool.New = func() any {
		h := new(urlHasher)
		fill(&h.h)
		return h
	}
	return m, nil
}

// SignsURL reports true: the signature covers Request.URL.
func (m *URLParams) SignsURL() bool { return true }

var formContentType = []byte("application/x-www-form-urlencoded")

// Match reports whether r carries a valid signature made with one of the
// secrets over Request.URL, tried with and without its port as Twilio's
// SDKs do, and the sorted form parameters (none for a GET, or for a body
// covered by the body-hash parameter, which must then match). A missing or
// wrong signature, or an empty Request.URL, is (false, nil). It does not
// allocate once its pool is warm.
func (m *URLParams) Match(r *provider.Request) (bool, error) {
	v := bytes.TrimSpace(r.Header(m.header))
	if len(v) == 0 || len(r.URL) == 0 {
		return false, nil
	}
	h := m.pool.Get().(*urlHasher)
	defer m.pool.Put(h)
	if m.enc == Base64 && len(v) != base64.StdEncoding.EncodedLen(m.size) {
		return false, nil // Twilio pads; a value of another length is malformed
	}
	sig, ok := m.enc.decode(h.sig[:], v, m.size)
	if !ok {
		return false, nil
	}
	h.pairs = h.pairs[:0]
	if m.bodyParam != "" && len(r.Query(m.bodyParam)) > 0 {
		if !bodyHashOK(r.Query(m.bodyParam), r.Body()) {
			return false, nil
		}
	} else if r.Req.Header.IsPost() && bytes.HasPrefix(r.Req.Header.ContentType(), formContentType) {
		h.pairs = sortedParams(h.pairs, r)
	}
	base, port, rest := splitPort(r.URL)
	found := false
	for variant := range 2 {
		for i := range m.nkeys {
			hh := h.h[i]
			hh.Reset()
			hh.Write(base)
			if variant == 1 {
				hh.Write(port)
			}
			hh.Write(rest)
			for j, p := range h.pairs {
				if j > 0 && bytes.Equal(p.k, h.pairs[j-1].k) && bytes.Equal(p.v, h.pairs[j-1].v) {
					continue // a repeated name=value counts once, as in the SDKs
				}
				hh.Write(p.k)
				hh.Write(p.v)
			}
			if hmac.Equal(sig, hh.Sum(h.mac[:0])) {
				found = true
			}
		}
	}
	return found, nil
}

// sortedParams appends r's form parameters to dst sorted by name, then
// value.
func sortedParams(dst []kv, r *provider.Request) []kv {
	for k, v := range r.Req.PostArgs().All() {
		dst = append(dst, kv{k, v})
	}
	slices.SortFunc(dst, func(a, b kv) int {
		if c := bytes.Compare(a.k, b.k); c != 0 {
			return c
		}
		return bytes.Compare(a.v, b.v)
	})
	return dst
}

// bodyHashOK reports whether want is the hex SHA-256 of body.
func bodyHashOK(want, body []byte) bool {
	var w [sha256.Size]byte
	if len(want) != 2*sha256.Size {
		return false
	}
	if _, err := hex.Decode(w[:], want); err != nil {
		return false
	}
	got := sha256.Sum256(body)
	return hmac.Equal(got[:], w[:])
}

// splitPort splits an absolute URL into what precedes the port (scheme and
// host), the port with its colon, and the rest, so that base+rest is the
// URL without a port and base+port+rest the URL with one (the scheme's
// default port when it had none).
func splitPort(u []byte) (base, port, rest []byte) {
	i := bytes.Index(u, []byte("://"))
	if i < 0 {
		return u, nil, nil
	}
	start := i + 3
	end := len(u)
	if j := bytes.IndexAny(u[start:], "/?#"); j >= 0 {
		end = start + j
	}
	auth := u[start:end]
	if c := bytes.LastIndexByte(auth, ':'); c >= 0 && c > bytes.LastIndexByte(auth, ']') && isDigits(string(auth[c+1:])) {
		return u[:start+c], u[start+c : end], u[end:]
	}
	if bytes.EqualFold(u[:i], []byte("https")) {
		return u[:end], portHTTPS, u[end:]
	}
	return u[:end], portHTTP, u[end:]
}

var (
	portHTTPS = []byte(":443")
	portHTTP  = []byte(":80")
)
