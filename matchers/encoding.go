package matchers

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
)

// Encoding is how a signature is written in its header.
type Encoding string

// Encodings. Base64 accepts padded and unpadded values.
const (
	Hex       Encoding = "hex"
	Base64    Encoding = "base64"
	Base64URL Encoding = "base64url"
)

func (e Encoding) check() error {
	switch e {
	case "", Hex, Base64, Base64URL:
		return nil
	}
	return fmt.Errorf("matchers: unknown encoding %q (want hex, base64 or base64url)", string(e))
}

// decode decodes src, which must decode to exactly size bytes, into buf and
// returns the decoded bytes. A malformed or wrong-length src is not ok.
func (e Encoding) decode(buf, src []byte, size int) ([]byte, bool) {
	switch e {
	case Base64, Base64URL:
		enc := base64.RawStdEncoding
		if e == Base64URL {
			enc = base64.RawURLEncoding
		}
		for i := 0; i < 2 && len(src) > 0 && src[len(src)-1] == '='; i++ {
			src = src[:len(src)-1]
		}
		if enc.DecodedLen(len(src)) != size || size > len(buf) {
			return nil, false
		}
		n, err := enc.Decode(buf, src)
		if err != nil || n != size {
			return nil, false
		}
		return buf[:n], true
	default:
		if len(src) != 2*size || size > len(buf) {
			return nil, false
		}
		if _, err := hex.Decode(buf[:size], src); err != nil {
			return nil, false
		}
		return buf[:size], true
	}
}
