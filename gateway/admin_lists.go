package gateway

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/config"
	"github.com/edgehook/edgehook/delivery"
)

// defaultListLimit is a list's page size when the request names none.
const defaultListLimit = 100

// topRoute serves the admin routes outside /v1/environments/{env}: the
// environment list and the destination listing (SPEC §5, §10). It reports
// whether it answered.
func (s *Server) topRoute(c context.Context, ctx *fasthttp.RequestCtx, path string) bool {
	switch path {
	case "/v1/environments", "/v1/environments/":
		if s.getOnly(ctx) {
			after, limit := page(ctx)
			list, err := s.admin.ListEnvironments(c, after, limit+1)
			writeList(s, ctx, "environments", list, err, limit, func(n string, v *config.Environment) any { return named(n, s.mask(v, nil)) })
		}
	case "/v1/stats":
		if s.getOnly(ctx) {
			if s.opts.Stats == nil {
				writeError(ctx, fasthttp.StatusNotFound, "not_found", "no statistics on this instance")
			} else {
				writeJSON(ctx, fasthttp.StatusOK, s.opts.Stats())
			}
		}
	case "/v1/destinations":
		if s.getOnly(ctx) {
			s.listDestinations(ctx)
		}
	default:
		return false
	}
	return true
}

// inspectRoute serves the lists below an environment and the delivery
// inspection (SPEC §5, §10). It reports whether it answered.
func (s *Server) inspectRoute(c context.Context, ctx *fasthttp.RequestCtx, seg []string, method string) bool {
	if method != fasthttp.MethodGet {
		return false
	}
	switch {
	case len(seg) == 2 && seg[1] == "integrations":
		after, limit := page(ctx)
		list, err := s.admin.ListIntegrations(c, seg[0], after, limit+1)
		writeList(s, ctx, "integrations", list, err, limit, func(n string, v *config.Integration) any { return named(n, s.mask(v, nil)) })
	case len(seg) == 4 && seg[1] == "integrations" && seg[3] == "connections":
		after, limit := page(ctx)
		list, err := s.admin.ListConnections(c, seg[0], seg[2], after, limit+1)
		secret := s.configSecrets(c, seg[0], seg[2])
		writeList(s, ctx, "connections", list, err, limit, func(_ string, v *config.Connection) any { return s.mask(v, secret) })
	case len(seg) == 3 && seg[1] == "deliveries":
		s.getDelivery(c, ctx, seg[0], seg[2])
	case len(seg) == 3 && seg[1] == "events":
		s.findEvent(c, ctx, seg[0], seg[2])
	case len(seg) == 4 && seg[1] == "integrations" && seg[3] == "events":
		s.findProviderDelivery(c, ctx, seg[0], seg[2])
	default:
		return false
	}
	return true
}

// getOnly answers 405 to anything but GET and reports whether the method
// was GET.
func (s *Server) getOnly(ctx *fasthttp.RequestCtx) bool {
	if ctx.IsGet() {
		return true
	}
	writeError(ctx, fasthttp.StatusMethodNotAllowed, "method_not_allowed", "use GET")
	return false
}

// page reads a list's ?after=NAME&limit=N (default 100, at most
// config.MaxList).
func page(ctx *fasthttp.RequestCtx) (after string, limit int) {
	limit = defaultListLimit
	if l := ctx.QueryArgs().GetUintOrZero("limit"); l > 0 {
		limit = min(l, config.MaxList)
	}
	return string(ctx.QueryArgs().Peek("after")), limit
}

// writeList answers a list of up to limit objects from a page read with
// limit+1, so that next_after is set only when more follow. show returns
// an object as the list shows it, its secrets masked; a stored value that
// no longer decodes is shown by name, as invalid.
func writeList[T any](s *Server, ctx *fasthttp.RequestCtx, key string, list []config.Named[*T], err error, limit int, show func(name string, v *T) any) {
	if err != nil {
		s.adminError(ctx, err)
		return
	}
	out := map[string]any{}
	if len(list) > limit {
		list = list[:limit]
		out["next_after"] = list[limit-1].Name
	}
	items := make([]any, len(list))
	for i, n := range list {
		if n.Value == nil {
			items[i] = map[string]any{"name": n.Name, "invalid": true}
			continue
		}
		items[i] = show(n.Name, n.Value)
	}
	out[key] = items
	writeJSON(ctx, fasthttp.StatusOK, out)
}

// named returns v's JSON object with "name" as its first field.
func named(name string, v any) any {
	b, err := json.Marshal(v)
	if err != nil || len(b) < 2 || b[0] != '{' {
		return map[string]any{"name": name}
	}
	out := append([]byte(`{"name":`), strconv.Quote(name)...)
	if len(b) > 2 {
		out = append(out, ',')
	}
	return json.RawMessage(append(out, b[1:]...))
}

func (s *Server) listDestinations(ctx *fasthttp.RequestCtx) {
	ds, err := s.spool.Destinations()
	if err != nil {
		writeError(ctx, fasthttp.StatusServiceUnavailable, "unavailable", "the delivery scheduler is stopped")
		return
	}
	if ds == nil {
		ds = []delivery.DestInfo{}
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"destinations": ds})
}
