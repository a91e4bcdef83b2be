package delivery

import (
	"encoding/binary"
	"strings"
)

// AppendHeader appends one header (name, value) to dst in the encoding of
// Event.Header: uvarint length of the name, the name, uvarint length of the
// value, the value. It returns the extended slice.
func AppendHeader(dst []byte, key, value []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(key)))
	dst = append(dst, key...)
	dst = binary.AppendUvarint(dst, uint64(len(value)))
	return append(dst, value...)
}

// visitHeader calls f for each header encoded in h, in order; the slices
// passed to f alias h. A truncated encoding ends the walk.
func visitHeader(h []byte, f func(key, value []byte)) {
	for len(h) > 0 {
		k, rest, ok := cutField(h)
		if !ok {
			return
		}
		v, rest, ok := cutField(rest)
		if !ok {
			return
		}
		f(k, v)
		h = rest
	}
}

// cutField splits one uvarint-length-prefixed field off b.
func cutField(b []byte) (field, rest []byte, ok bool) {
	n, w := binary.Uvarint(b)
	if w <= 0 || uint64(len(b)-w) < n {
		return nil, nil, false
	}
	return b[w : w+int(n)], b[w+int(n):], true
}

// droppedHeaders are the provider headers never passed through: hop-by-hop,
// those the forward sets itself, and credentials.
var droppedHeaders = map[string]bool{
	"connection": true, "keep-alive": true, "te": true, "trailer": true,
	"transfer-encoding": true, "upgrade": true, "host": true,
	"authorization": true, "cookie": true, "content-length": true,
	"content-type": true, "content-encoding": true, "user-agent": true,
	"x-nango-hmac-sha256": true, "x-nango-signature": true,
	"webhook-id": true, "webhook-timestamp": true, "webhook-signature": true,
	"traceparent": true, "x-edgehook-attempt": true,
}

// passHeader reports whether a provider header is forwarded.
func passHeader(key []byte) bool {
	if len(key) == 0 || len(key) > 256 {
		return false
	}
	k := strings.ToLower(string(key))
	return !droppedHeaders[k] && !strings.HasPrefix(k, "proxy-")
}

// filterHeader returns a copy of the encoded headers h without those
// passHeader refuses.
func filterHeader(h []byte) []byte {
	if len(h) == 0 {
		return nil
	}
	out := make([]byte, 0, len(h))
	visitHeader(h, func(k, v []byte) {
		if passHeader(k) {
			out = AppendHeader(out, k, v)
		}
	})
	return out
}
