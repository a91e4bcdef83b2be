package matchers

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"sync"

	"github.com/edgehook/edgehook/provider"
)

// ECDSA is a compiled ECDSA P-256/SHA-256 signature matcher (SendGrid):
// the header holds an ASN.1 DER signature of the SHA-256 of the signed
// content. It accepts a signature by either of its public keys and is safe
// for concurrent use.
type ECDSA struct {
	sc   signedContent
	keys []*ecdsa.PublicKey
}

// maxDERSig bounds a DER ECDSA P-256 signature (72 bytes at most).
const maxDERSig = 80

// ParseECDSAKey decodes a P-256 public key given as base64 DER
// SubjectPublicKeyInfo (SendGrid's "verification key") or as a PEM
// "PUBLIC KEY" block.
func ParseECDSAKey(s string) (*ecdsa.PublicKey, error) {
	raw := bytes.TrimSpace([]byte(s))
	var der []byte
	if blk, _ := pem.Decode(raw); blk != nil {
		der = blk.Bytes
	} else {
		var err error
		if der, err = base64.StdEncoding.DecodeString(string(raw)); err != nil {
			return nil, fmt.Errorf("ecdsa public key is neither PEM nor base64 DER: %w", err)
		}
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("ecdsa public key: %w", err)
	}
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok || k.Curve != elliptic.P256() {
		return nil, errors.New("ecdsa public key: not a P-256 key")
	}
	return k, nil
}

// CompileECDSA builds the matcher for cfg and one or two public keys.
func CompileECDSA(cfg SignedConfig, keys ...*ecdsa.PublicKey) (*ECDSA, error) {
	if cfg.Encoding == "" {
		cfg.Encoding = Base64
	}
	sc, err := compileSigned(cfg)
	if err != nil {
		return nil, fmt.Errorf("matchers: ecdsa: %w", err)
	}
	if len(keys) == 0 || len(keys) > 2 {
		return nil, errors.New("matchers: ecdsa: one or two public keys are required")
	}
	for _, k := range keys {
		if k == nil || k.Curve != elliptic.P256() {
			return nil, errors.New("matchers: ecdsa: not a P-256 key")
		}
	}
	return &ECDSA{sc: sc, keys: keys}, nil
}

var sha256Pool = sync.Pool{New: func() any { return sha256.New() }}

// Match reports whether r carries a valid signature by one of the keys. A
// missing, malformed or wrong signature, a missing input or a stale
// timestamp is (false, nil). The digest is computed without copying the
// body; crypto/ecdsa's verification itself allocates (a few hundred bytes).
func (m *ECDSA) Match(r *provider.Request) (bool, error) {
	v, ts, id, ok := m.sc.inputs(r)
	if !ok {
		return false, nil
	}
	var sigBuf [maxDERSig]byte
	sig, ok := m.sc.enc.decodeVar(sigBuf[:], bytes.TrimSpace(v))
	if !ok || len(sig) < 8 {
		return false, nil
	}
	h := sha256Pool.Get().(hash.Hash)
	h.Reset()
	writeSigned(h, &m.sc.tmpl, r, ts, id)
	var digest [sha256.Size]byte
	h.Sum(digest[:0])
	sha256Pool.Put(h)
	found := false
	for _, k := range m.keys {
		if found = ecdsa.VerifyASN1(k, digest[:], sig); found {
			break // nothing secret to hide: stop at the first key that verifies
		}
	}
	return found, nil
}
