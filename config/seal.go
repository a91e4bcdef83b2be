package config

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// Envelope encryption of secret fields at rest (SPEC §11). With a key
// file, every secret a stored value holds (webhook secrets, connection
// credentials, the connection config fields a provider names as
// credentials, hook task state, the routing hash key) is stored as
//
//	"edgehook:v1:<key id>:<base64 of nonce ‖ AES-256-GCM ciphertext>"
//
// with the etcd key and the field's name as additional data, so a sealed
// value cannot be moved to another field or object. Values written before
// encryption was turned on stay readable in clear until re-encrypted
// (`edgehook secrets reencrypt`).

// sealPrefix starts every sealed value.
const sealPrefix = "edgehook:v1:"

// ErrSealed is wrapped by the error of reading a sealed value without the
// key it was sealed with.
var ErrSealed = errors.New("config: value sealed with an unknown key")

// Sealer seals and opens secret fields with AES-256-GCM keys named by an
// id. It reads its keys from a file (LoadSealer): one key a line, `<id>
// <base64 of 32 bytes>`, the first one sealing, every one opening; blank
// lines and lines starting with # are skipped. A value sealed with an id
// the Sealer lacks makes it read the file again (at most once a second),
// so a key added to the file by a rotation is picked up without a
// restart. A Sealer is safe for concurrent use.
type Sealer struct {
	path string

	mu     sync.RWMutex
	active string
	keys   map[string]cipher.AEAD
	loaded time.Time
}

// LoadSealer reads the key file at path.
func LoadSealer(path string) (*Sealer, error) {
	s := &Sealer{path: path}
	if err := s.load(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Sealer) load() error {
	raw, err := os.ReadFile(s.path)
	if err != nil {
		return fmt.Errorf("config: secrets key file: %w", err)
	}
	keys, active, err := parseKeys(raw)
	if err != nil {
		return fmt.Errorf("config: secrets key file %s: %w", s.path, err)
	}
	s.mu.Lock()
	s.keys, s.active, s.loaded = keys, active, time.Now()
	s.mu.Unlock()
	return nil
}

func parseKeys(raw []byte) (map[string]cipher.AEAD, string, error) {
	keys := map[string]cipher.AEAD{}
	var active string
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		id, b64, ok := strings.Cut(line, " ")
		b64 = strings.TrimSpace(b64)
		if !ok || !validName(id) || strings.Contains(id, ":") {
			return nil, "", fmt.Errorf("line %d: want `<id> <base64 key>`, the id of A-Z a-z 0-9 . _ ~ -", n)
		}
		key, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(key) != 32 {
			return nil, "", fmt.Errorf("line %d: key %q is not 32 bytes of base64", n, id)
		}
		if _, dup := keys[id]; dup {
			return nil, "", fmt.Errorf("line %d: key id %q appears twice", n, id)
		}
		block, _ := aes.NewCipher(key)
		aead, _ := cipher.NewGCM(block)
		keys[id] = aead
		if active == "" {
			active = id
		}
	}
	if err := sc.Err(); err != nil {
		return nil, "", err
	}
	if active == "" {
		return nil, "", errors.New("no key")
	}
	return keys, active, nil
}

// Active returns the id of the key that seals.
func (s *Sealer) Active() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.active
}

// seal seals plain for the field named aad with the active key; a nil
// Sealer or an empty value leaves it as it is.
func (s *Sealer) seal(aad, plain string) string {
	if s == nil || plain == "" {
		return plain
	}
	s.mu.RLock()
	id, aead := s.active, s.keys[s.active]
	s.mu.RUnlock()
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	rand.Read(nonce)
	sealed := aead.Seal(nonce, nonce, []byte(plain), []byte(aad))
	return sealPrefix + id + ":" + base64.RawStdEncoding.EncodeToString(sealed)
}

// open returns the plaintext of v, stored for the field named aad; a
// value that is not sealed is returned as it is.
func (s *Sealer) open(aad, v string) (string, error) {
	rest, ok := strings.CutPrefix(v, sealPrefix)
	if !ok {
		return v, nil
	}
	id, b64, ok := strings.Cut(rest, ":")
	if !ok {
		return "", fmt.Errorf("config: sealed value of %s is malformed", aad)
	}
	if s == nil {
		return "", fmt.Errorf("%w: %s is sealed with key %q and no --secrets-key-file is set", ErrSealed, aad, id)
	}
	aead := s.key(id)
	if aead == nil {
		return "", fmt.Errorf("%w: %s is sealed with key %q, which the key file lacks", ErrSealed, aad, id)
	}
	sealed, err := base64.RawStdEncoding.DecodeString(b64)
	if err != nil || len(sealed) < aead.NonceSize() {
		return "", fmt.Errorf("config: sealed value of %s is malformed", aad)
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(aad))
	if err != nil {
		return "", fmt.Errorf("config: sealed value of %s does not open with key %q", aad, id)
	}
	return string(plain), nil
}

// key returns the AEAD of key id, reading the file again (at most once a
// second) when it lacks it.
func (s *Sealer) key(id string) cipher.AEAD {
	s.mu.RLock()
	aead, recent := s.keys[id], time.Since(s.loaded) < time.Second
	s.mu.RUnlock()
	if aead != nil || recent {
		return aead
	}
	if err := s.load(); err != nil {
		s.mu.Lock()
		s.loaded = time.Now()
		s.mu.Unlock()
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.keys[id]
}

// sealedBy returns the id of the key v is sealed with, "" when it is not
// sealed.
func sealedBy(v string) string {
	rest, ok := strings.CutPrefix(v, sealPrefix)
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, ":")
	return id
}

// NewKeyLine returns a key file line with a fresh random key named id.
func NewKeyLine(id string) string {
	var k [32]byte
	rand.Read(k[:])
	return id + " " + base64.StdEncoding.EncodeToString(k[:])
}
