package sender

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"strconv"
	"strings"
	"sync"
)

// signer holds pools of keyed hashes for one environment secret, so that
// an attempt does not redo the HMAC key schedule.
type signer struct {
	secret []byte
	nango  sync.Pool // HMAC-SHA256 keyed with the secret
	std    sync.Pool // HMAC-SHA256 keyed with the Standard Webhooks key
	plain  sync.Pool // SHA-256
}

func newSigner(secret string) (*signer, error) {
	key, err := standardKey(secret)
	if err != nil {
		return nil, err
	}
	sg := &signer{secret: []byte(secret)}
	sg.nango.New = func() any { return hmac.New(sha256.New, sg.secret) }
	sg.std.New = func() any { return hmac.New(sha256.New, key) }
	sg.plain.New = func() any { return sha256.New() }
	return sg, nil
}

// signers caches a signer per secret; it is cleared when it holds
// maxSigners (secrets are per environment, so few).
var signers = struct {
	sync.RWMutex
	m map[string]*signer
}{m: map[string]*signer{}}

const maxSigners = 1024

func signerFor(secret string) (*signer, error) {
	signers.RLock()
	sg := signers.m[secret]
	signers.RUnlock()
	if sg != nil {
		return sg, nil
	}
	sg, err := newSigner(secret)
	if err != nil {
		return nil, err
	}
	signers.Lock()
	if len(signers.m) >= maxSigners {
		clear(signers.m)
	}
	signers.m[secret] = sg
	signers.Unlock()
	return sg, nil
}

// Signatures are the signature header values of one attempt.
type Signatures struct {
	NangoHMAC   string // X-Nango-Hmac-Sha256: hex HMAC-SHA256(secret, body)
	NangoLegacy string // X-Nango-Signature: hex SHA-256(secret ‖ body)
	Standard    string // webhook-signature: v1,<base64 HMAC-SHA256(key, id.ts.body)>
}

// Sign computes the signature headers of a body under an environment
// secret, for delivery id and Unix timestamp ts. The body is prefix, then
// payload, then suffix; a payload that is not in memory (payload nil) is
// read from r, in pieces, so that a large one never is.
func Sign(secret, id string, ts int64, prefix, payload, suffix []byte, r io.Reader) (Signatures, error) {
	sg, err := signerFor(secret)
	if err != nil {
		return Signatures{}, err
	}
	hs := [3]hash.Hash{sg.nango.Get().(hash.Hash), sg.plain.Get().(hash.Hash), sg.std.Get().(hash.Hash)}
	defer func() {
		sg.nango.Put(hs[0])
		sg.plain.Put(hs[1])
		sg.std.Put(hs[2])
	}()
	for _, h := range hs {
		h.Reset()
	}
	hs[1].Write(sg.secret)
	var tsb [20]byte
	hs[2].Write([]byte(id))
	hs[2].Write([]byte{'.'})
	hs[2].Write(strconv.AppendInt(tsb[:0], ts, 10))
	hs[2].Write([]byte{'.'})
	write := func(b []byte) {
		for _, h := range hs {
			h.Write(b)
		}
	}
	write(prefix)
	if payload != nil || r == nil {
		write(payload)
	} else if err := readEach(r, write); err != nil {
		return Signatures{}, fmt.Errorf("sender: reading the body to sign: %w", err)
	}
	write(suffix)
	var buf [sha256.Size]byte
	return Signatures{
		NangoHMAC:   hex.EncodeToString(hs[0].Sum(buf[:0])),
		NangoLegacy: hex.EncodeToString(hs[1].Sum(buf[:0])),
		Standard:    "v1," + base64.StdEncoding.EncodeToString(hs[2].Sum(buf[:0])),
	}, nil
}

// readEach reads r to its end in pieces of a pooled 32 KiB buffer, passing
// each to f.
func readEach(r io.Reader, f func([]byte)) error {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	for {
		n, err := r.Read(*bp)
		if n > 0 {
			f((*bp)[:n])
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// standardKey returns the Standard Webhooks key: the base64 after whsec_,
// else the secret's bytes.
func standardKey(secret string) ([]byte, error) {
	b64, ok := strings.CutPrefix(secret, "whsec_")
	if !ok {
		return []byte(secret), nil
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("sender: decoding whsec_ secret: %w", err)
	}
	return key, nil
}

// CheckSecret reports whether secret can sign (a whsec_ secret must be
// base64), for validating configuration before it is used.
func CheckSecret(secret string) error {
	_, err := standardKey(secret)
	return err
}
