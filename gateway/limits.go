package gateway

import (
	"bytes"

	"github.com/valyala/fasthttp"
)

// smallBody is the body limit of ingress routes that take none
// (/healthz, /readyz, unknown paths).
const smallBody = 4 << 10

// ingressHeader is the ingress listener's HeaderReceived: it runs once a
// request's header is read and before any of its body is, and sets the
// request's body limit to its integration's (max_body, else --max-body)
// and its body timeout. A request to an unknown (or unreadable)
// integration may carry no body: the limit is 1 byte, and transportError
// answers what the handler would (404 or 503) without reading it.
func (s *Server) ingressHeader(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	rc := fasthttp.RequestConfig{ReadTimeout: s.opts.BodyTimeout}
	path, ok := rawPath(h.RequestURI())
	if !ok {
		return rc // not plain: the handler decides on the decoded path
	}
	rest, ok := bytes.CutPrefix(path, webhookPrefix)
	if !ok {
		rc.MaxRequestBodySize = smallBody
		return rc
	}
	env, integ, ok := splitPair(rest)
	if !ok {
		rc.MaxRequestBodySize = 1
		return rc
	}
	ig, err := s.cfg.Integration(s.ctx, env, integ)
	if err == nil {
		_, err = s.cfg.Environment(s.ctx, env)
	}
	if err != nil {
		rc.MaxRequestBodySize = 1
		return rc
	}
	limit := s.opts.MaxBody
	if ig.MaxBody > 0 && ig.MaxBody < limit {
		limit = ig.MaxBody
	}
	rc.MaxRequestBodySize = int(limit)
	return rc
}

// rawPath returns the path of a request URI (origin or absolute form)
// when it needs no decoding: no percent escape, no dot segment, no
// doubled slash.
func rawPath(uri []byte) ([]byte, bool) {
	if len(uri) > 0 && uri[0] != '/' {
		i := bytes.Index(uri, []byte("://"))
		if i < 0 {
			return nil, false
		}
		j := bytes.IndexByte(uri[i+3:], '/')
		if j < 0 {
			return nil, false
		}
		uri = uri[i+3+j:]
	}
	if i := bytes.IndexAny(uri, "?#"); i >= 0 {
		uri = uri[:i]
	}
	if bytes.IndexByte(uri, '%') >= 0 || bytes.Contains(uri, []byte("/.")) || bytes.Contains(uri, []byte("//")) {
		return nil, false
	}
	return uri, true
}

// knownIntegration reports whether ctx's webhook route names a known
// integration; if not, it has answered as the handler would.
func (s *Server) knownIntegration(ctx *fasthttp.RequestCtx) bool {
	rest, ok := bytes.CutPrefix(ctx.Path(), webhookPrefix)
	if !ok {
		return true
	}
	env, integ, ok := splitPair(rest)
	if !ok {
		writeError(ctx, fasthttp.StatusNotFound, "not_found", "expected /webhook/{environment}/{integration}")
		return false
	}
	if _, err := s.cfg.Environment(s.ctx, env); err != nil {
		s.configError(ctx, err, "environment")
		return false
	}
	if _, err := s.cfg.Integration(s.ctx, env, integ); err != nil {
		s.configError(ctx, err, "integration")
		return false
	}
	return true
}
