package sender

import (
	"bytes"
	"encoding/binary"
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

// droppedHeaders are the provider headers never passed through, lower
// case: hop-by-hop ones, host, credentials (the Salesforce token header
// among them), and those the forward sets itself.
var droppedHeaders = [...]string{
	"connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade",
	"proxy-authenticate", "proxy-authorization", "proxy-connection",
	"host", "authorization", "cookie", "content-length", "content-type",
	"content-encoding", "user-agent", "x-edgehook-token",
	"x-nango-hmac-sha256", "x-nango-signature", "webhook-id",
	"webhook-timestamp", "webhook-signature", "traceparent", "x-edgehook-attempt",
}

// PassHeader reports whether a provider header named key is passed
// through to the app. It does not allocate.
func PassHeader(key []byte) bool {
	if len(key) == 0 || len(key) > 256 {
		return false
	}
	for _, d := range droppedHeaders {
		if len(d) == len(key) && bytes.EqualFold(key, []byte(d)) {
			return false
		}
	}
	return true
}

// AppendPassedHeader appends header (key, value) to dst in the encoding of
// Event.Header when PassHeader allows it, and returns the extended slice.
func AppendPassedHeader(dst, key, value []byte) []byte {
	if !PassHeader(key) {
		return dst
	}
	return AppendHeader(dst, key, value)
}
