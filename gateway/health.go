package gateway

import (
	"encoding/json"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/config"
)

// healthz is 200 while the process runs.
func (s *Server) healthz(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType("application/json")
	ctx.SetBodyString(`{"status":"ok"}`)
}

// readyz is 200 once the spool is open, the ingress listens and the
// configuration cache has been in force since start, and until SIGTERM
// (Drain); otherwise 503 naming what is not. An etcd outage does not fail
// it while cached configuration is served (SPEC §11): so that a load
// balancer does not drop every instance at once. ?verbose=1 shows every
// check, etcd's reachability and the cache watch's state.
func (s *Server) readyz(ctx *fasthttp.RequestCtx) {
	checks := [...]struct {
		name string
		ok   bool
	}{
		{"draining", !s.draining.Load()},
		{"config", s.cfg.Ready()},
		{"spool", s.spool.Ready()},
		{"ingress", s.listening.Load()},
	}
	if ctx.QueryArgs().Has("verbose") {
		s.readyzVerbose(ctx, checks[:])
		return
	}
	for _, c := range checks {
		if !c.ok {
			msg := c.name + " is not ready"
			if c.name == "draining" {
				msg = "shutting down"
			}
			writeError(ctx, fasthttp.StatusServiceUnavailable, "not_ready", msg)
			return
		}
	}
	ctx.SetContentType("application/json")
	ctx.SetBodyString(`{"status":"ready"}`)
}

func (s *Server) readyzVerbose(ctx *fasthttp.RequestCtx, checks []struct {
	name string
	ok   bool
}) {
	out := map[string]any{"status": "ready"}
	cs := map[string]bool{}
	for _, c := range checks {
		cs[c.name] = c.ok
		if !c.ok {
			out["status"] = "not_ready"
			ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
		}
	}
	out["checks"] = cs
	out["etcd_reachable"] = s.opts.EtcdHealthy()
	if st, ok := s.cfg.(interface{ Status() config.CacheStatus }); ok {
		w := st.Status()
		watch := map[string]any{"in_force": w.InForce, "serving_cached": w.Serving, "revision": w.Revision}
		if !w.StaleSince.IsZero() {
			watch["stale_since"] = w.StaleSince.UTC().Format(time.RFC3339Nano)
			watch["stale_for_seconds"] = time.Since(w.StaleSince).Seconds()
		}
		out["config_watch"] = watch
	}
	b, _ := json.Marshal(out)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}
