package gateway

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/pprofhandler"

	"github.com/edgehook/edgehook/config"
	"github.com/edgehook/edgehook/delivery"
)

// Masked replaces every secret the admin API returns.
const Masked = "********"

func (s *Server) serveAdmin(ctx *fasthttp.RequestCtx) {
	if s.opts.AdminHostCheck && !loopbackHost(ctx.Host()) {
		writeError(ctx, fasthttp.StatusForbidden, "forbidden", "the admin API answers only requests addressed to a loopback host")
		return
	}
	path := string(ctx.Path())
	switch path {
	case "/healthz":
		s.healthz(ctx)
		return
	case "/readyz":
		s.readyz(ctx)
		return
	case "/metrics":
		if s.opts.Metrics != nil {
			s.opts.Metrics(ctx)
			return
		}
	}
	if s.opts.Console != nil && (path == "/console" || strings.HasPrefix(path, "/console/")) {
		s.opts.Console(ctx)
		return
	}
	if h, ok := s.opts.Extra[path]; ok {
		h(ctx)
		return
	}
	if !s.authorized(ctx) {
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="edgehook"`)
		writeError(ctx, fasthttp.StatusUnauthorized, "unauthorized", "missing or wrong bearer token")
		return
	}
	if strings.HasPrefix(path, "/debug/pprof/") {
		pprofhandler.PprofHandler(ctx)
		return
	}
	c, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	if s.topRoute(c, ctx, path) {
		return
	}
	seg, ok := adminPath(path)
	if !ok {
		writeError(ctx, fasthttp.StatusNotFound, "not_found", "no such route")
		return
	}
	// Configuration writes need etcd; while it is known down they answer
	// at once rather than after the request's timeout.
	if (ctx.IsPut() || ctx.IsDelete() || strings.Contains(path, "/hooks/")) && !s.opts.EtcdHealthy() {
		writeError(ctx, fasthttp.StatusServiceUnavailable, "unavailable", "the configuration store is unavailable; retry later")
		ctx.Response.Header.Set("Retry-After", "1")
		return
	}
	s.route(c, ctx, seg)
}

// loopbackHost reports whether a Host header names this machine's
// loopback: localhost or a loopback address, with any port. A page served
// from elsewhere that rebinds its name to 127.0.0.1 sends its own name.
func loopbackHost(host []byte) bool {
	h := string(host)
	if hp, _, err := net.SplitHostPort(h); err == nil {
		h = hp
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(h)
	return err == nil && ip.IsLoopback()
}

// authorized checks the bearer token in constant time.
func (s *Server) authorized(ctx *fasthttp.RequestCtx) bool {
	if s.opts.AdminToken == "" {
		return true
	}
	got, ok := strings.CutPrefix(string(ctx.Request.Header.Peek("Authorization")), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(s.opts.AdminToken)) == 1
}

// adminPath splits /v1/environments/{env}/... into its segments after "v1".
func adminPath(p string) ([]string, bool) {
	rest, ok := strings.CutPrefix(p, "/v1/environments/")
	if !ok || rest == "" {
		return nil, false
	}
	seg := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	for _, s := range seg {
		if s == "" {
			return nil, false
		}
	}
	return seg, true
}

func (s *Server) route(c context.Context, ctx *fasthttp.RequestCtx, seg []string) {
	m := string(ctx.Method())
	if s.hookRoute(c, ctx, seg, m) || s.inspectRoute(c, ctx, seg, m) {
		return
	}
	switch {
	case len(seg) == 1:
		s.object(ctx, m, func() (any, error) { return s.admin.GetEnvironment(c, seg[0]) },
			func(b []byte) (any, error) { return s.admin.PutEnvironment(c, seg[0], b) }, nil, nil)
	case len(seg) == 3 && seg[1] == "integrations":
		s.object(ctx, m, func() (any, error) { return s.admin.GetIntegration(c, seg[0], seg[2]) },
			func(b []byte) (any, error) { return s.admin.PutIntegration(c, seg[0], seg[2], b) }, nil, nil)
	case len(seg) == 5 && seg[1] == "integrations" && seg[3] == "connections":
		s.object(ctx, m, func() (any, error) { return s.admin.GetConnection(c, seg[0], seg[2], seg[4]) },
			func(b []byte) (any, error) { return s.admin.PutConnection(c, seg[0], seg[2], seg[4], b) },
			func() error { return s.admin.DeleteConnection(c, seg[0], seg[2], seg[4]) },
			s.configSecrets(c, seg[0], seg[2]))
	case len(seg) == 2 && seg[1] == "deliveries" && m == fasthttp.MethodGet:
		s.listDeliveries(c, ctx, seg[0])
	case len(seg) == 3 && seg[1] == "deliveries" && seg[2] == "retry" && m == fasthttp.MethodPost:
		s.retryMany(c, ctx, seg[0])
	case len(seg) == 4 && seg[1] == "deliveries" && seg[3] == "retry" && m == fasthttp.MethodPost:
		s.retryDelivery(c, ctx, seg[0], seg[2])
	case len(seg) == 2 && seg[1] == "sync-notifications":
		s.syncNotification(c, ctx, seg[0])
	default:
		writeError(ctx, fasthttp.StatusNotFound, "not_found", "no such route")
	}
}

// configSecrets returns which connection config fields of an integration
// hold credentials: those its provider names (provider.Describer). When
// the integration cannot be read, every field is treated as one, so a
// lookup failure never reveals a token.
func (s *Server) configSecrets(c context.Context, env, integ string) func(field string) bool {
	ig, err := s.admin.GetIntegration(c, env, integ)
	if err != nil {
		return func(string) bool { return true }
	}
	var names []string
	if s.secrets != nil {
		names = s.secrets(ig.Provider)
	}
	return func(field string) bool { return slices.Contains(names, field) }
}

// object serves GET, PUT and DELETE of one configuration object.
func (s *Server) object(ctx *fasthttp.RequestCtx, method string, get func() (any, error), put func([]byte) (any, error), del func() error, configSecret func(field string) bool) {
	var v any
	var err error
	switch {
	case method == fasthttp.MethodGet:
		v, err = get()
	case method == fasthttp.MethodPut:
		v, err = put(ctx.PostBody())
	case method == fasthttp.MethodDelete && del != nil:
		if err = del(); err == nil {
			ctx.SetStatusCode(fasthttp.StatusNoContent)
			return
		}
	default:
		writeError(ctx, fasthttp.StatusMethodNotAllowed, "method_not_allowed", "method not allowed here")
		return
	}
	if err != nil {
		s.adminError(ctx, err)
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, s.mask(v, configSecret))
}

func (s *Server) adminError(ctx *fasthttp.RequestCtx, err error) {
	var ve *config.ValidationError
	switch {
	case errors.As(err, &ve):
		writeError(ctx, fasthttp.StatusBadRequest, "invalid", ve.Error())
	case errors.Is(err, config.ErrNotFound), errors.Is(err, delivery.ErrNotFound):
		writeError(ctx, fasthttp.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, config.ErrConflict):
		writeError(ctx, fasthttp.StatusConflict, "conflict", err.Error())
	case errors.Is(err, delivery.ErrBadStatus):
		writeError(ctx, fasthttp.StatusBadRequest, "invalid", err.Error())
	default:
		s.log.Error("gateway: admin request failed", "err", err)
		writeError(ctx, fasthttp.StatusServiceUnavailable, "unavailable", "configuration store unavailable")
	}
}

// mask returns a copy of a stored object with its secrets replaced:
// webhook secrets, every connection credentials value, and the connection
// config fields configSecret reports.
func (s *Server) mask(v any, configSecret func(field string) bool) any {
	hide := func(p *string) {
		if *p != "" {
			*p = Masked
		}
	}
	switch o := v.(type) {
	case *config.Environment:
		c := *o
		hide(&c.WebhookSecret)
		return &c
	case *config.Integration:
		c := *o
		hide(&c.WebhookSecret)
		hide(&c.WebhookSecretPrevious)
		return &c
	case *config.Connection:
		c := *o
		c.Credentials = maskFields(o.Credentials, func(string) bool { return true })
		if configSecret != nil {
			c.Config = maskFields(o.Config, configSecret)
		}
		return &c
	}
	return v
}

// maskFields copies m with the value of every key for which secret reports
// true replaced by Masked; m itself is returned when nothing is masked.
// Connection config values are shown as stored unless the provider names
// them as credentials (provider.Describer), so routing values such as
// installation_id stay readable.
func maskFields(m map[string]json.RawMessage, secret func(k string) bool) map[string]json.RawMessage {
	var out map[string]json.RawMessage
	for k := range m {
		if !secret(k) {
			continue
		}
		if out == nil {
			out = maps.Clone(m)
		}
		out[k] = json.RawMessage(strconv.Quote(Masked))
	}
	if out == nil {
		return m
	}
	return out
}

func writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(ctx, fasthttp.StatusInternalServerError, "internal", "encoding response")
		return
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}
