package config

import "strings"

// DefaultPrefix is the etcd key prefix used when none is configured.
const DefaultPrefix = "/edgehook"

// maxNameLen is the longest environment, integration or connection name.
const maxNameLen = 128

// normPrefix applies the default and drops trailing slashes.
func normPrefix(p string) string {
	if p == "" {
		return DefaultPrefix
	}
	return strings.TrimRight(p, "/")
}

// validName reports whether s matches ^[A-Za-z0-9][A-Za-z0-9._~-]{0,127}$.
// It does not allocate, so the request path checks names from the URL with
// it before building any key.
func validName[T ~string | ~[]byte](s T) bool {
	if len(s) == 0 || len(s) > maxNameLen || !isAlnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && c != '.' && c != '_' && c != '~' && c != '-' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

const upperHex = "0123456789ABCDEF"

// EscapeValue appends v to dst with '/', '%' and control bytes
// percent-encoded (%2F, %25, …), which makes any routing field or value safe
// as one etcd key segment. It allocates only when dst lacks room.
func EscapeValue(dst, v []byte) []byte { return appendEscaped(dst, v) }

func appendEscaped[T ~string | ~[]byte](dst []byte, v T) []byte {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '/' || c == '%' || c < 0x20 || c == 0x7f {
			dst = append(dst, '%', upperHex[c>>4], upperHex[c&0xf])
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

// Etcd keys (SPEC §4).

func envKey(prefix, env string) string { return prefix + "/envs/" + env }

func integKey(prefix, env, integ string) string {
	return envKey(prefix, env) + "/integrations/" + integ
}

func connKey(prefix, env, integ, id string) string {
	return envKey(prefix, env) + "/connections/" + integ + "/" + id
}

// routeKey is the index entry of connection id for one (field, value); field
// and value are already escaped.
func routeKey(prefix, env, integ string, r route, id string) string {
	return envKey(prefix, env) + "/routes/" + integ + "/" + r.field + "/" + r.value + "/" + id
}

// appendRoutePrefix appends the key prefix under which the index entries of
// (field, value) live, ending with '/'.
func appendRoutePrefix(dst []byte, prefix string, env, integ []byte, field string, value []byte) []byte {
	dst = append(dst, prefix...)
	dst = append(dst, "/envs/"...)
	dst = append(dst, env...)
	dst = append(dst, "/routes/"...)
	dst = append(dst, integ...)
	dst = append(dst, '/')
	dst = appendEscaped(dst, field)
	dst = append(dst, '/')
	dst = appendEscaped(dst, value)
	return append(dst, '/')
}

// Cache keys: a kind byte, then the names joined by '/'. Names never hold
// '/', and route fields and values are escaped, so keys are unambiguous.
const (
	kindEnv    = 'e'
	kindInteg  = 'i'
	kindConn   = 'c'
	kindLookup = 'l'
)

// appendCacheKey appends kind and parts joined by '/'; the watch uses it
// with the segments of an etcd key.
func appendCacheKey(dst []byte, kind byte, parts ...[]byte) []byte {
	dst = append(dst, kind)
	for i, p := range parts {
		if i > 0 {
			dst = append(dst, '/')
		}
		dst = append(dst, p...)
	}
	return dst
}

func appendEnvCK(dst, env []byte) []byte {
	return append(append(dst, kindEnv), env...)
}

func appendIntegCK(dst, env, integ []byte) []byte {
	dst = append(append(dst, kindInteg), env...)
	return append(append(dst, '/'), integ...)
}

func appendConnCK[T ~string | ~[]byte](dst, env, integ []byte, id T) []byte {
	dst = append(append(dst, kindConn), env...)
	dst = append(append(dst, '/'), integ...)
	return append(append(dst, '/'), id...)
}

func appendLookupCK(dst, env, integ []byte, field string, value []byte) []byte {
	dst = append(append(dst, kindLookup), env...)
	dst = append(append(dst, '/'), integ...)
	dst = appendEscaped(append(dst, '/'), field)
	return appendEscaped(append(dst, '/'), value)
}
