package matchers

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"github.com/edgehook/edgehook/provider"
)

// Ed25519 is a compiled Ed25519 signature matcher (Discord): the signature
// in a header covers a template such as "{timestamp}{body}". It accepts a
// signature made by either of its public keys, and is safe for concurrent
// use.
type Ed25519 struct {
	sc   signedContent
	keys []ed25519.PublicKey
}

// ParseEd25519Key decodes a 32-byte Ed25519 public key written in hex (as
// Discord shows it) or in standard base64.
func ParseEd25519Key(s string) (ed25519.PublicKey, error) {
	s = string(bytes.TrimSpace([]byte(s)))
	var k []byte
	var err error
	if len(s) == 2*ed25519.PublicKeySize {
		k, err = hex.DecodeString(s)
	} else {
		k, err = base64.StdEncoding.DecodeString(s)
	}
	if err != nil {
		return nil, fmt.Errorf("ed25519 public key is neither hex nor base64: %w", err)
	}
	if len(k) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("ed25519 public key has %d bytes, want %d", len(k), ed25519.PublicKeySize)
	}
	return k, nil
}

// CompileEd25519 builds the matcher for cfg and one or two public keys.
func CompileEd25519(cfg SignedConfig, keys ...ed25519.PublicKey) (*Ed25519, error) {
	sc, err := compileSigned(cfg)
	if err != nil {
		return nil, fmt.Errorf("matchers: ed25519: %w", err)
	}
	if len(keys) == 0 || len(keys) > 2 {
		return nil, errors.New("matchers: ed25519: one or two public keys are required")
	}
	m := &Ed25519{sc: sc}
	for _, k := range keys {
		if len(k) != ed25519.PublicKeySize {
			return nil, errors.New("matchers: ed25519: malformed public key")
		}
		m.keys = append(m.keys, append(ed25519.PublicKey(nil), k...))
	}
	return m, nil
}

// Match reports whether r carries a valid signature by one of the keys. A
// missing, malformed or wrong signature, a missing input or a stale
// timestamp is (false, nil). A signature by the first key does not
// allocate once the buffer pool is warm (the signed content is assembled in
// a pooled buffer, because crypto/ed25519 needs the message in one piece).
func (m *Ed25519) Match(r *provider.Request) (bool, error) {
	v, ts, id, ok := m.sc.inputs(r)
	if !ok {
		return false, nil
	}
	var sig [ed25519.SignatureSize]byte
	if _, ok := m.sc.enc.decode(sig[:], bytes.TrimSpace(v), ed25519.SignatureSize); !ok {
		return false, nil
	}
	b := getBuf()
	writeSigned(b, &m.sc.tmpl, r, ts, id)
	// Public-key results reveal nothing secret, so the first key that
	// verifies ends the loop: the current key's valid signature costs one
	// verification and allocates nothing (a failed one allocates crypto's
	// error value).
	found := false
	for _, k := range m.keys {
		if found = ed25519.Verify(k, b.b, sig[:]); found {
			break
		}
	}
	putBuf(b)
	return found, nil
}

// buf is a pooled growable byte buffer for signed content.
type buf struct{ b []byte }

func (b *buf) Write(p []byte) (int, error) {
	b.b = append(b.b, p...)
	return len(p), nil
}

// maxPooledBuf is the largest buffer returned to the pool; a larger one
// (a big body) is left to the garbage collector.
const maxPooledBuf = 1 << 20

var bufPool = sync.Pool{New: func() any { return &buf{b: make([]byte, 0, 4096)} }}

func getBuf() *buf { return bufPool.Get().(*buf) }

func putBuf(b *buf) {
	if cap(b.b) > maxPooledBuf {
		return
	}
	b.b = b.b[:0]
	bufPool.Put(b)
}
