package delivery

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"sync"
)

// signatures are the three signature header values of one attempt.
type signatures struct {
	nangoHMAC   string // X-Nango-Hmac-Sha256: hex HMAC-SHA256(secret, body)
	nangoLegacy string // X-Nango-Signature: hex SHA-256(secret ‖ body)
	standard    string // webhook-signature: v1,<base64 HMAC-SHA256(key, id.ts.body)>
}

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

// sum writes the parts into a hash from pool and returns its digest.
func sum(pool *sync.Pool, buf []byte, parts ...[]byte) []byte {
	h := pool.Get().(hash.Hash)
	h.Reset()
	for _, p := range parts {
		h.Write(p)
	}
	out := h.Sum(buf[:0])
	pool.Put(h)
	return out
}

// sign computes the signature headers for body under the environment
// secret, for delivery id and Unix timestamp ts.
func sign(secret, id string, ts int64, body []byte) (signatures, error) {
	sg, err := signerFor(secret)
	if err != nil {
		return signatures{}, err
	}
	var buf [sha256.Size]byte
	var sig signatures
	sig.nangoHMAC = hex.EncodeToString(sum(&sg.nango, buf[:], body))
	sig.nangoLegacy = hex.EncodeToString(sum(&sg.plain, buf[:], sg.secret, body))
	var tsb [20]byte
	mac := sum(&sg.std, buf[:], []byte(id), []byte{'.'}, strconv.AppendInt(tsb[:0], ts, 10), []byte{'.'}, body)
	sig.standard = "v1," + base64.StdEncoding.EncodeToString(mac)
	return sig, nil
}

// standardKey returns the Standard Webhooks key: the base64 after whsec_,
// else the secret's bytes.
func standardKey(secret string) ([]byte, error) {
	b64, ok := strings.CutPrefix(secret, "whsec_")
	if !ok {
		return []byte(secret), nil
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("delivery: decoding whsec_ secret: %w", err)
	}
	return key, nil
}
