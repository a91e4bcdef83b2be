package matchers

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/edgehook/edgehook/provider"
)

// SignedConfig says where a public-key signature travels and what it
// covers; Ed25519 (Discord) and ECDSA (SendGrid) matchers share it.
type SignedConfig struct {
	// Header carries the signature ("X-Signature-Ed25519").
	Header string
	// Encoding of the signature; empty means Hex.
	Encoding Encoding
	// Signed is the signed-content template (see ParseTemplate); empty
	// means "{body}".
	Signed string
	// TimestampHeader carries {timestamp}; a missing one fails the match.
	TimestampHeader string
	// TimestampFormat is how it is written; empty means Unix seconds.
	TimestampFormat TimestampFormat
	// Tolerance, when positive, is the largest accepted distance between
	// the timestamp and Request.Now; 0 signs the timestamp without a
	// replay window (the providers that document none).
	Tolerance time.Duration
	// IDHeader carries {id}.
	IDHeader string
}

// signedContent is a compiled SignedConfig.
type signedContent struct {
	header   string
	enc      Encoding
	tmpl     Template
	tsHeader string
	ts       timestampCheck
	checkTS  bool
	idHeader string
}

func compileSigned(cfg SignedConfig) (signedContent, error) {
	if cfg.Header == "" {
		return signedContent{}, errors.New("header is required")
	}
	if err := cfg.Encoding.check(); err != nil {
		return signedContent{}, err
	}
	tmpl, err := ParseTemplate(cfg.Signed)
	if err != nil {
		return signedContent{}, err
	}
	if cfg.Tolerance < 0 {
		return signedContent{}, fmt.Errorf("negative tolerance %s", cfg.Tolerance)
	}
	ts, err := newTimestampCheck(cfg.TimestampFormat, cfg.Tolerance)
	if err != nil {
		return signedContent{}, err
	}
	s := signedContent{
		header: cfg.Header, enc: cfg.Encoding, tmpl: tmpl, tsHeader: cfg.TimestampHeader,
		ts: ts, checkTS: cfg.Tolerance > 0, idHeader: cfg.IDHeader,
	}
	switch {
	case tmpl.uses[partTimestamp] && s.tsHeader == "":
		return signedContent{}, errors.New("template uses {timestamp} but no timestamp header is set")
	case s.checkTS && s.tsHeader == "":
		return signedContent{}, errors.New("a tolerance needs a timestamp header")
	case tmpl.uses[partID] && s.idHeader == "":
		return signedContent{}, errors.New("template uses {id} but no id header is set")
	}
	return s, nil
}

// inputs returns the signature header value and the timestamp and id the
// template needs; ok is false when one is missing or the timestamp is
// stale.
func (s *signedContent) inputs(r *provider.Request) (sig, ts, id []byte, ok bool) {
	if sig = r.Header(s.header); len(sig) == 0 {
		return nil, nil, nil, false
	}
	if s.tsHeader != "" {
		if ts = r.Header(s.tsHeader); len(ts) == 0 {
			return nil, nil, nil, false
		}
		if s.checkTS && !s.ts.fresh(ts, r.Now) {
			return nil, nil, nil, false
		}
	}
	if s.tmpl.uses[partID] {
		if id = r.Header(s.idHeader); len(id) == 0 {
			return nil, nil, nil, false
		}
	}
	return sig, ts, id, true
}

// writeSigned writes the signed content of r to w, part by part, so that a
// hash never needs the content in one piece.
func writeSigned(w io.Writer, t *Template, r *provider.Request, ts, id []byte) {
	for _, p := range t.parts {
		switch p.kind {
		case partLiteral:
			w.Write(p.lit)
		case partBody:
			w.Write(r.Body())
		case partTimestamp:
			w.Write(ts)
		case partID:
			w.Write(id)
		case partMethod:
			w.Write(r.Req.Header.Method())
		case partURL:
			w.Write(r.URL)
		}
	}
}

// decodeVar decodes a signature of at most len(buf) bytes whose length is
// not fixed (ASN.1 DER, a JWT part). It is strict: Base64 must be padded,
// Base64URL unpadded (as JWS writes it). A malformed or too long src is not
// ok.
func (e Encoding) decodeVar(buf, src []byte) ([]byte, bool) {
	switch e {
	case Base64, Base64URL:
		enc := base64.StdEncoding
		if e == Base64URL {
			enc = base64.RawURLEncoding
		}
		if enc.DecodedLen(len(src)) > len(buf) {
			return nil, false
		}
		n, err := enc.Decode(buf, src)
		if err != nil {
			return nil, false
		}
		return buf[:n], true
	default:
		if len(src)%2 != 0 || len(src)/2 > len(buf) {
			return nil, false
		}
		n, err := hex.Decode(buf, src)
		if err != nil {
			return nil, false
		}
		return buf[:n], true
	}
}
