package hubspot

// decoded are the escapes HubSpot's v3 documentation says to decode in the
// URI before signing; every other escape (%20, %26, %3D, %25, …) stays.
var decoded = [256]bool{':': true, '/': true, '?': true, '@': true, '!': true, '$': true,
	'\'': true, '(': true, ')': true, '*': true, ',': true, ';': true}

// DecodeURI appends uri to dst with the escapes of :/?@!$'()*,; decoded
// (hex digits of either case) and returns the extended slice. A decoded
// character is never '%' or a hex digit, so the result does not depend on
// how often it is applied.
func DecodeURI(dst, uri []byte) []byte {
	for i := 0; i < len(uri); i++ {
		if uri[i] == '%' && i+2 < len(uri) {
			hi, ok1 := unhex(uri[i+1])
			lo, ok2 := unhex(uri[i+2])
			if c := hi<<4 | lo; ok1 && ok2 && decoded[c] {
				dst = append(dst, c)
				i += 2
				continue
			}
		}
		dst = append(dst, uri[i])
	}
	return dst
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
