package matchers

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
)

// Secrets is one shared secret, or two during a rotation, compared in
// constant time. It keeps only their SHA-256 digests: comparing fixed-size
// digests takes the same time whatever the length of the received value.
type Secrets struct {
	want [2][sha256.Size]byte
	n    int
}

// NewSecrets returns the Secrets accepting secret or, when not empty,
// previous. An empty secret is an error.
func NewSecrets(secret, previous []byte) (Secrets, error) {
	if len(secret) == 0 {
		return Secrets{}, errors.New("secret is required")
	}
	s := Secrets{n: 1}
	s.want[0] = sha256.Sum256(secret)
	if len(previous) > 0 {
		s.want[1] = sha256.Sum256(previous)
		s.n = 2
	}
	return s, nil
}

// Equal reports whether v is one of the secrets, in time that depends on
// neither v nor which secret it is. The zero Secrets accepts nothing. It
// does not allocate.
func (s *Secrets) Equal(v []byte) bool {
	got := sha256.Sum256(v)
	ok := 0
	for i := range s.n {
		ok |= subtle.ConstantTimeCompare(got[:], s.want[i][:])
	}
	return ok == 1
}
