package delivery

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// signatures are the three signature header values of one attempt.
type signatures struct {
	nangoHMAC   string // X-Nango-Hmac-Sha256: hex HMAC-SHA256(secret, body)
	nangoLegacy string // X-Nango-Signature: hex SHA-256(secret ‖ body)
	standard    string // webhook-signature: v1,<base64 HMAC-SHA256(key, id.ts.body)>
}

// sign computes the signature headers for body under the environment
// secret, for delivery id and Unix timestamp ts.
func sign(secret, id string, ts int64, body []byte) (signatures, error) {
	key, err := standardKey(secret)
	if err != nil {
		return signatures{}, err
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	nango := hex.EncodeToString(m.Sum(nil))

	h := sha256.New()
	h.Write([]byte(secret))
	h.Write(body)
	legacy := hex.EncodeToString(h.Sum(nil))

	m = hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write(strconv.AppendInt(nil, ts, 10))
	m.Write([]byte{'.'})
	m.Write(body)
	std := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	return signatures{nangoHMAC: nango, nangoLegacy: legacy, standard: std}, nil
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
