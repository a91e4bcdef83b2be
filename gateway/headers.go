package gateway

import (
	"bytes"

	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/delivery/sender"
)

// appendPassthrough appends the provider headers the forward carries, in
// sender.AppendPassedHeader's encoding.
func appendPassthrough(dst []byte, h *fasthttp.RequestHeader) []byte {
	for k, v := range h.All() {
		dst = sender.AppendPassedHeader(dst, k, v)
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
