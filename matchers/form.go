package matchers

import (
	"bytes"
	"unsafe"

	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/internal/jsonx"
)

// AppendFormJSON appends the fields of a decoded form (or query) as one
// JSON object of strings, in the order received, and returns the extended
// slice: the forwarded payload of a form-encoded delivery (SPEC §6). When a
// name repeats, its first value is kept. It allocates only when dst lacks
// room.
func AppendFormJSON(dst []byte, args *fasthttp.Args) []byte {
	dst = append(dst, '{')
	start := len(dst)
	n := 0
	for k, v := range args.All() {
		if repeated(args, k, n) {
			n++
			continue
		}
		if len(dst) > start {
			dst = append(dst, ',')
		}
		dst = jsonx.AppendString(dst, b2s(k))
		dst = append(dst, ':')
		dst = jsonx.AppendString(dst, b2s(v))
		n++
	}
	return append(dst, '}')
}

// repeated reports whether one of the first n fields of args is named k.
func repeated(args *fasthttp.Args, k []byte, n int) bool {
	i := 0
	for k2 := range args.All() {
		if i == n {
			return false
		}
		if bytes.Equal(k, k2) {
			return true
		}
		i++
	}
	return false
}

// b2s views b as a string without copying, for read-only use while b is
// alive and unchanged.
func b2s(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
