package gateway

import (
	"context"

	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/config"
)

// hookRoute serves the admin routes connection lifecycle hooks (SPEC §9)
// shape: DELETE of a connection, which waits for a pre-deletion hook
// unless ?force=true, and POST …/hooks/{name}/retry. It reports whether
// it answered.
func (s *Server) hookRoute(c context.Context, ctx *fasthttp.RequestCtx, seg []string, method string) bool {
	conn := len(seg) >= 5 && seg[1] == "integrations" && seg[3] == "connections"
	switch {
	case conn && len(seg) == 5 && method == fasthttp.MethodDelete:
		s.deleteConnection(c, ctx, seg[0], seg[2], seg[4])
	case conn && len(seg) == 8 && seg[5] == "hooks" && seg[7] == "retry" && method == fasthttp.MethodPost:
		s.retryHook(c, ctx, seg[0], seg[2], seg[4], seg[6])
	default:
		return false
	}
	return true
}

// deleteConnection answers 202 with the connection's status while its
// pre-deletion hook runs, 204 once it is removed.
func (s *Server) deleteConnection(c context.Context, ctx *fasthttp.RequestCtx, env, integ, id string) {
	if ctx.QueryArgs().GetBool("force") {
		if err := s.admin.DeleteConnection(c, env, integ, id); err != nil {
			s.adminError(ctx, err)
			return
		}
		s.log.Warn("gateway: connection removed with force=true; any pre-deletion hook was skipped",
			"environment", env, "integration", integ, "connection", id)
		ctx.SetStatusCode(fasthttp.StatusNoContent)
		return
	}
	conn, pending, err := s.admin.BeginDeleteConnection(c, env, integ, id)
	if err != nil {
		s.adminError(ctx, err)
		return
	}
	if !pending {
		ctx.SetStatusCode(fasthttp.StatusNoContent)
		return
	}
	writeJSON(ctx, fasthttp.StatusAccepted, hooksReply{ConnectionID: id, Status: conn.Status, Hooks: conn.Hooks})
}

// hooksReply is the body of a 202 DELETE and of a hook retry: the
// connection's status and hooks, without its config or credentials.
type hooksReply struct {
	ConnectionID string                        `json:"connection_id"`
	Status       string                        `json:"status,omitempty"`
	Hooks        map[string]*config.HookStatus `json:"hooks"`
}

func (s *Server) retryHook(c context.Context, ctx *fasthttp.RequestCtx, env, integ, id, name string) {
	h, err := s.admin.RetryHook(c, env, integ, id, name)
	if err != nil {
		s.adminError(ctx, err)
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, hooksReply{ConnectionID: id, Hooks: map[string]*config.HookStatus{name: h}})
}
