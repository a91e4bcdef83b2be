package matchers

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/edgehook/edgehook/provider"
)

// TokenConfig describes a shared-token scheme: the token travels in a
// header or a URL query argument.
type TokenConfig struct {
	// Header carries the token ("X-Gitlab-Token"). Checked first.
	Header string
	// Query is the URL query argument carrying the token ("token"), used
	// when the header is absent.
	Query string
	// Prefix is stripped from the value ("Bearer "); a value without it is
	// treated as missing.
	Prefix string
	// Presence means the token is itself the credential and is matched
	// against connections by the gateway ("token is the credential"
	// providers such as Streak): Match only requires a non-empty token, and
	// no secret is used.
	Presence bool
}

// Token is a compiled shared-token matcher, safe for concurrent use.
type Token struct {
	header, query string
	prefix        []byte
	presence      bool
	secrets       Secrets
}

// CompileToken builds a token matcher accepting secret or, during a
// rotation, previous. With cfg.Presence both must be empty.
func CompileToken(cfg TokenConfig, secret, previous []byte) (*Token, error) {
	if cfg.Header == "" && cfg.Query == "" {
		return nil, errors.New("matchers: token: header or query is required")
	}
	t := &Token{header: cfg.Header, query: cfg.Query, prefix: []byte(cfg.Prefix), presence: cfg.Presence}
	if cfg.Presence {
		if len(secret) > 0 || len(previous) > 0 {
			return nil, errors.New("matchers: token: a presence-only token takes no secret")
		}
		return t, nil
	}
	s, err := NewSecrets(secret, previous)
	if err != nil {
		return nil, fmt.Errorf("matchers: token: %w", err)
	}
	t.secrets = s
	return t, nil
}

// Value returns the token r carries, without its prefix, or nil. The slice
// is borrowed from the request and valid until the plugin method returns.
func (t *Token) Value(r *provider.Request) []byte {
	var v []byte
	if t.header != "" {
		v = r.Header(t.header)
	}
	if len(v) == 0 && t.query != "" {
		v = r.Query(t.query)
	}
	v, ok := bytes.CutPrefix(v, t.prefix)
	if !ok || len(v) == 0 {
		return nil
	}
	return v
}

// Match reports whether r carries an accepted token (any non-empty token
// with Presence), comparing in constant time. It does not allocate.
func (t *Token) Match(r *provider.Request) (bool, error) {
	v := t.Value(r)
	if v == nil {
		return false, nil
	}
	if t.presence {
		return true, nil
	}
	return t.secrets.Equal(v), nil
}
