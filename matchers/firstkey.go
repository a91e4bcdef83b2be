package matchers

import (
	"bytes"

	"github.com/buger/jsonparser"
)

// FirstString returns the string value of the first object member named
// key anywhere in the JSON document body, in document order (the order
// the text is written in, whatever the nesting), skipping members of that
// name whose value is not a string. body must be valid JSON (check with
// json.Valid first); on anything else the result is unspecified but
// FirstString does not panic.
//
// The value is unescaped. It borrows from body when it needs no
// unescaping; otherwise it is written into dst's backing array (from
// dst[:0], grown if too small). ok is false when there is no such member.
func FirstString(body []byte, key string, dst []byte) (v []byte, ok bool) {
	for i := 0; i < len(body); i++ {
		if body[i] != '"' {
			continue
		}
		end := stringEnd(body, i+1)
		if end < 0 {
			return nil, false
		}
		name := body[i+1 : end]
		j := skipSpace(body, end+1)
		i = end
		if j >= len(body) || body[j] != ':' || !keyIs(name, key) {
			continue
		}
		k := skipSpace(body, j+1)
		if k >= len(body) || body[k] != '"' {
			continue // not a string value; keep scanning from after the key
		}
		vend := stringEnd(body, k+1)
		if vend < 0 {
			return nil, false
		}
		return unescape(body[k+1:vend], dst)
	}
	return nil, false
}

// stringEnd returns the index of the quote closing the JSON string whose
// content starts at i, or -1.
func stringEnd(b []byte, i int) int {
	for ; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// keyIs reports whether the raw (still escaped) member name equals key.
func keyIs(raw []byte, key string) bool {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw) == key
	}
	if len(raw) > 6*len(key) || len(key) > 64 {
		return false // an escaped name that long cannot unescape to key
	}
	var buf [64]byte
	u, ok := unescape(raw, buf[:0])
	return ok && string(u) == key
}

// unescape returns the content of a JSON string as text: raw itself when
// it has no escapes, else unescaped into dst's backing array.
func unescape(raw, dst []byte) ([]byte, bool) {
	if bytes.IndexByte(raw, '\\') < 0 {
		return raw, true
	}
	u, err := jsonparser.Unescape(raw, dst[:0:cap(dst)])
	return u, err == nil
}
