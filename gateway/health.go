package gateway

import "github.com/valyala/fasthttp"

// healthz is 200 while the process runs.
func (s *Server) healthz(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType("application/json")
	ctx.SetBodyString(`{"status":"ok"}`)
}

// readyz is 200 only when etcd answers, the cache watch is established, the
// spool is open and the ingress listens; otherwise 503 naming what is not.
func (s *Server) readyz(ctx *fasthttp.RequestCtx) {
	checks := [...]struct {
		name string
		ok   bool
	}{
		{"etcd", s.opts.EtcdHealthy()},
		{"watch", s.cfg.Ready()},
		{"spool", s.spool.Ready()},
		{"ingress", s.listening.Load()},
	}
	for _, c := range checks {
		if !c.ok {
			writeError(ctx, fasthttp.StatusServiceUnavailable, "not_ready", c.name+" is not ready")
			return
		}
	}
	ctx.SetContentType("application/json")
	ctx.SetBodyString(`{"status":"ready"}`)
}
