package delivery

import "unicode/utf8"

// appendForwardBody appends the forward body of SPEC §6 to dst (sized for
// it when nil):
// {"from":…,"type":"forward","connectionId":…|null,"providerConfigKey":…,"payload":…}
// with the payload copied verbatim (null when empty).
func appendForwardBody(dst []byte, provider, integration, connID string, payload []byte) []byte {
	if dst == nil { // allocate once: the envelope is small beside the payload
		dst = make([]byte, 0, 96+2*(len(provider)+len(integration)+len(connID))+len(payload))
	}
	dst = append(dst, `{"from":`...)
	dst = appendJSONString(dst, provider)
	dst = append(dst, `,"type":"forward","connectionId":`...)
	if connID == "" {
		dst = append(dst, "null"...)
	} else {
		dst = appendJSONString(dst, connID)
	}
	dst = append(dst, `,"providerConfigKey":`...)
	dst = appendJSONString(dst, integration)
	dst = append(dst, `,"payload":`...)
	if len(payload) == 0 {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, payload...)
	}
	return append(dst, '}')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string literal, escaping quotes,
// backslashes, control characters, invalid UTF-8 (as U+FFFD) and the
// line separators U+2028/U+2029, as encoding/json does.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			dst = appendASCII(dst, c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, `\u202`...)
			dst = append(dst, hexDigits[r&0xf])
		default:
			dst = append(dst, s[i:i+n]...)
		}
		i += n
	}
	return append(dst, '"')
}

func appendASCII(dst []byte, c byte) []byte {
	switch {
	case c == '"' || c == '\\':
		return append(dst, '\\', c)
	case c == '\n':
		return append(dst, '\\', 'n')
	case c == '\r':
		return append(dst, '\\', 'r')
	case c == '\t':
		return append(dst, '\\', 't')
	case c < 0x20:
		return append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
	}
	return append(dst, c)
}
