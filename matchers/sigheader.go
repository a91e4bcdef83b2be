package matchers

import "bytes"

// nextEntry splits the first entry off a signature header list: the whole
// value when sep is 0, else up to the next sep. Spaces around the entry are
// trimmed.
func nextEntry(v []byte, sep byte) (entry, rest []byte) {
	if sep != 0 {
		if i := bytes.IndexByte(v, sep); i >= 0 {
			return bytes.TrimSpace(v[:i]), v[i+1:]
		}
	}
	return bytes.TrimSpace(v), nil
}

// nextSignature returns the signature of the first entry of v with its
// prefix stripped (nil when that entry is not a non-empty signature), and
// the rest of v.
func nextSignature(v []byte, sep byte, prefix []byte) (sig, rest []byte) {
	entry, rest := nextEntry(v, sep)
	sig, ok := bytes.CutPrefix(entry, prefix)
	if !ok || len(sig) == 0 {
		return nil, rest
	}
	return sig, rest
}

// listValue returns the value of the first entry of v that starts with key
// (which includes its "="), or nil.
func listValue(v []byte, sep byte, key []byte) []byte {
	for rest := v; len(rest) > 0; {
		var entry []byte
		entry, rest = nextEntry(rest, sep)
		if val, ok := bytes.CutPrefix(entry, key); ok {
			return val
		}
	}
	return nil
}
