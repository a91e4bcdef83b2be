package gateway

import (
	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/internal/jsonx"
)

// writeError answers with status and the JSON error body every edgehook
// error uses: {"error":{"code":"…","message":"…"}}.
func writeError(ctx *fasthttp.RequestCtx, status int, code, msg string) {
	ctx.Response.Reset()
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	var buf [256]byte
	b := append(buf[:0], `{"error":{"code":`...)
	b = jsonx.AppendString(b, code)
	b = append(b, `,"message":`...)
	b = jsonx.AppendString(b, msg)
	b = append(b, "}}"...)
	ctx.Response.SetBody(b)
}

// overloaded answers 503 with Retry-After: the provider retries later and
// nothing was spooled.
func overloaded(ctx *fasthttp.RequestCtx, msg string) {
	writeError(ctx, fasthttp.StatusServiceUnavailable, "overloaded", msg)
	ctx.Response.Header.Set("Retry-After", "1")
}

// apiError is the inner object of an error body, for replies that carry
// several (a bulk retry's per-id results).
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}
