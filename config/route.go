package config

import (
	"bytes"
	"encoding/json"
	"slices"
	"sort"
)

const (
	// maxRouteValue is the longest value text that is indexed; longer
	// values (certificates, blobs) are kept but never route.
	maxRouteValue = 512
	// maxRouteField is the longest config field name that is indexed.
	maxRouteField = 128
	// maxRoutes bounds the indexed fields of one connection so that an
	// update (deletes + puts + the connection) fits etcd's default limit of
	// 128 operations per transaction.
	maxRoutes = 63
)

// route is one routing index entry: an escaped field and value.
type route struct{ field, value string }

// routesOf lists the index entries of a connection config, sorted: every
// top-level string, number or bool with non-empty text of at most
// maxRouteValue bytes; the value of a credential field (cred) is its keyed
// hash (credroute.go). More than maxRoutes entries is a *ValidationError.
func routesOf(cfg map[string]json.RawMessage, cred []string, h *routeHasher) ([]route, error) {
	rs := routesOfAll(cfg, cred, h)
	if len(rs) > maxRoutes {
		return nil, invalidf("config: connection: config has %d routable fields, at most %d are allowed", len(rs), maxRoutes)
	}
	return rs, nil
}

// routesOfAll is routesOf without the limit. With h nil, credential
// fields are indexed by their value (the form before hashing).
func routesOfAll(cfg map[string]json.RawMessage, cred []string, h *routeHasher) []route {
	var rs []route
	for field, raw := range cfg {
		text, ok := RouteText(raw)
		if !ok || field == "" || len(field) > maxRouteField || len(text) == 0 || len(text) > maxRouteValue {
			continue
		}
		value := EscapeValue(nil, text)
		if h != nil && slices.Contains(cred, field) {
			value = h.appendHash(nil, text)
		}
		rs = append(rs, route{field: string(appendEscaped(nil, field)), value: string(value)})
	}
	sort.Slice(rs, func(i, j int) bool {
		if rs[i].field != rs[j].field {
			return rs[i].field < rs[j].field
		}
		return rs[i].value < rs[j].value
	})
	return rs
}

// RouteText returns the text a config value is routed by: a string's
// unescaped content, a number or bool literal as written. ok is false for
// null, objects, arrays and invalid JSON.
func RouteText(raw json.RawMessage) (text []byte, ok bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, false
	}
	switch c := raw[0]; {
	case c == '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil, false
		}
		return []byte(s), true
	case c == 't' || c == 'f':
		if string(raw) == "true" || string(raw) == "false" {
			return raw, true
		}
	case c == '-' || c >= '0' && c <= '9':
		if json.Valid(raw) {
			return raw, true
		}
	}
	return nil, false
}
