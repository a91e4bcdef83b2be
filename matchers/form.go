package matchers

import (
	"bytes"

	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/internal/jsonx"
)

// smallForm is the number of fields up to which AppendFormObject finds a
// repeated name by scanning, without allocating; larger forms use a map.
const smallForm = 32

// AppendFormObject appends the fields of a form-encoded body (already
// parsed into args, values URL-decoded) to dst as one JSON object whose
// members are the field names and values as strings, in the order they
// were sent, and returns the extended slice. When a name repeats, the
// first value is kept, as Args.Peek does. Invalid UTF-8 becomes U+FFFD, so
// the result is always valid JSON. It does not allocate when dst has the
// capacity and the form has at most 32 fields.
func AppendFormObject(dst []byte, args *fasthttp.Args) []byte {
	dst = append(dst, '{')
	var seen map[string]struct{}
	i := 0
	for k, v := range args.All() {
		var dup bool
		switch {
		case i < smallForm:
			dup = repeats(args, k, i)
		case seen == nil:
			seen = make(map[string]struct{}, 2*smallForm)
			j := 0
			for k2 := range args.All() {
				if j == i {
					break
				}
				seen[string(k2)] = struct{}{}
				j++
			}
			fallthrough
		default:
			_, dup = seen[string(k)]
			seen[string(k)] = struct{}{}
		}
		i++
		if dup {
			continue
		}
		if dst[len(dst)-1] != '{' {
			dst = append(dst, ',')
		}
		dst = jsonx.AppendBytes(dst, k)
		dst = append(dst, ':')
		dst = jsonx.AppendBytes(dst, v)
	}
	return append(dst, '}')
}

// repeats reports whether one of the first n fields of args is named k.
func repeats(args *fasthttp.Args, k []byte, n int) bool {
	if n == 0 {
		return false
	}
	i := 0
	for k2 := range args.All() {
		if bytes.Equal(k, k2) {
			return true
		}
		if i++; i == n {
			break
		}
	}
	return false
}
