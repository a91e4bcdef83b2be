package gateway

import (
	"bytes"

	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/delivery"
)

// dropped are the request headers never passed through to the app (SPEC §6:
// hop-by-hop, host, credentials, those the forward sets itself), lower case.
var dropped = [...]string{
	"connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
	"proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
	"host", "authorization", "cookie", "content-length", "content-type",
	"content-encoding", "user-agent", "traceparent", "x-edgehook-token",
}

// passThrough reports whether the header named k is forwarded.
func passThrough(k []byte) bool {
	for _, d := range dropped {
		if len(d) == len(k) && bytes.EqualFold(k, []byte(d)) {
			return false
		}
	}
	return true
}

// appendPassthrough appends the provider headers the forward carries, in
// delivery.AppendHeader's encoding.
func appendPassthrough(dst []byte, h *fasthttp.RequestHeader) []byte {
	for k, v := range h.All() {
		if passThrough(k) {
			dst = delivery.AppendHeader(dst, k, v)
		}
	}
	return dst
}

// appendPublicURL appends the URL the provider called, as the provider saw
// it: --public-url + path + query, else X-Forwarded-Proto (default http) ://
// X-Forwarded-Host (else Host) + path + query.
func (s *Server) appendPublicURL(dst []byte, ctx *fasthttp.RequestCtx) []byte {
	if s.opts.PublicURL != "" {
		dst = append(dst, s.opts.PublicURL...)
		dst = bytes.TrimSuffix(dst, []byte("/"))
	} else {
		proto := ctx.Request.Header.Peek("X-Forwarded-Proto")
		if len(proto) == 0 {
			proto = []byte("http")
		}
		host := ctx.Request.Header.Peek("X-Forwarded-Host")
		if len(host) == 0 {
			host = ctx.Host()
		}
		dst = append(dst, proto...)
		dst = append(dst, "://"...)
		dst = append(dst, host...)
	}
	return append(dst, ctx.Request.RequestURI()...)
}
