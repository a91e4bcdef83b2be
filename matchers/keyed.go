package matchers

import (
	"crypto/hmac"
	"errors"
	"fmt"
	"hash"
	"time"
)

// keyedHashes returns how many keys there are (two with a previous secret)
// and a function filling a scratch space with one fresh HMAC per key, for
// the New of a matcher's pool. The keys are copied.
func keyedHashes(newHash func() hash.Hash, secret, previous []byte) (int, func(h *[2]hash.Hash)) {
	keys := [2][]byte{append([]byte(nil), secret...), append([]byte(nil), previous...)}
	n := 1
	if len(previous) > 0 {
		n = 2
	}
	return n, func(h *[2]hash.Hash) {
		for i := range n {
			h[i] = hmac.New(newHash, keys[i])
		}
	}
}

// PositiveDuration parses an option holding a Go duration that must be
// positive ("tolerance": "5m"); name is the option's name, for the error.
func PositiveDuration(name, s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s %q is not a positive duration", name, s)
	}
	return d, nil
}

// CompileRoute compiles the route_path and route_field options of a
// provider whose routing is configured: both or neither (the zero Path).
func CompileRoute(path, field string) (Path, error) {
	if (path == "") != (field == "") {
		return Path{}, errors.New("route_path and route_field go together")
	}
	if path == "" {
		return Path{}, nil
	}
	p, err := CompilePath(path)
	if err != nil {
		return Path{}, fmt.Errorf("route_path: %w", err)
	}
	return p, nil
}
