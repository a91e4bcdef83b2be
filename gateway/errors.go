package gateway

import "github.com/valyala/fasthttp"

// writeError answers with status and the JSON error body every edgehook
// error uses: {"error":{"code":"…","message":"…"}}.
func writeError(ctx *fasthttp.RequestCtx, status int, code, msg string) {
	ctx.Response.Reset()
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	var buf [256]byte
	b := append(buf[:0], `{"error":{"code":`...)
	b = appendJSONString(b, code)
	b = append(b, `,"message":`...)
	b = appendJSONString(b, msg)
	b = append(b, "}}"...)
	ctx.Response.SetBody(b)
}

// overloaded answers 503 with Retry-After: the provider retries later and
// nothing was spooled.
func overloaded(ctx *fasthttp.RequestCtx, msg string) {
	writeError(ctx, fasthttp.StatusServiceUnavailable, "overloaded", msg)
	ctx.Response.Header.Set("Retry-After", "1")
}

// appendJSONString appends s as a JSON string literal. strconv.AppendQuote
// is not JSON (it emits \x escapes), so control bytes are escaped here.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}
