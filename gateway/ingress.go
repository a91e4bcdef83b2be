package gateway

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel/trace"

	"github.com/edgehook/edgehook/config"
	"github.com/edgehook/edgehook/delivery"
	"github.com/edgehook/edgehook/internal/jsonx"
	"github.com/edgehook/edgehook/provider"
)

var webhookPrefix = []byte("/webhook/")

// job is the per-request scratch state, pooled so the hot path reuses its
// slices. Nothing in it outlives the handler.
type job struct {
	req     provider.Request
	rt      provider.Routing
	conns   []*config.Conn
	keyOf   []int
	ev      delivery.Event
	parts   [][]byte
	targets []delivery.Target
	header  []byte
	url     []byte
	resp    []byte
	reply   provider.Reply // a Handshaker's or Acker's reply

	// Observability (SPEC §10).
	start   time.Time       // when the handler began
	prov    string          // the integration's provider, once known
	outcome outcome         // outcomeNone: derived from the status
	eventID string          // the event id answered, once spooled
	tctx    context.Context // carries span; nil with tracing off
	span    trace.Span      // edgehook.ingress; nil with tracing off
}

var jobPool = sync.Pool{New: func() any { return new(job) }}

func (j *job) reset() {
	j.req = provider.Request{}
	j.rt.Reset()
	clear(j.conns)
	j.conns = j.conns[:0]
	j.keyOf = j.keyOf[:0]
	clear(j.parts)
	j.parts = j.parts[:0]
	clear(j.targets)
	j.targets = j.targets[:0]
	j.ev = delivery.Event{}
	j.header = j.header[:0]
	j.url = j.url[:0]
	j.resp = j.resp[:0]
	j.reply = provider.Reply{}
	j.start, j.prov, j.outcome, j.eventID = time.Time{}, "", outcomeNone, ""
	j.tctx, j.span = nil, nil
}

func (s *Server) serveIngress(ctx *fasthttp.RequestCtx) {
	path := ctx.Path()
	switch {
	case s.opts.DeliverOnly && (bytes.HasPrefix(path, webhookPrefix) || string(path) == "/readyz"):
		writeError(ctx, fasthttp.StatusServiceUnavailable, "deliver_only", "this instance only delivers; send webhooks to an ingest instance")
		ctx.Response.Header.Set("Retry-After", "1")
	case bytes.HasPrefix(path, webhookPrefix):
		s.serveWebhook(ctx, path[len(webhookPrefix):])
	case string(path) == "/healthz":
		s.healthz(ctx)
	case string(path) == "/readyz":
		s.readyz(ctx)
	default:
		writeError(ctx, fasthttp.StatusNotFound, "not_found", "no such route")
	}
}

// splitPair splits "a/b" into its two non-empty segments.
func splitPair(p []byte) (a, b []byte, ok bool) {
	i := bytes.IndexByte(p, '/')
	if i <= 0 || i == len(p)-1 || bytes.IndexByte(p[i+1:], '/') >= 0 {
		return nil, nil, false
	}
	return p[:i], p[i+1:], true
}

// serveWebhook serves one provider request, counting it and, with
// tracing on, recording its edgehook.ingress span.
func (s *Server) serveWebhook(ctx *fasthttp.RequestCtx, rest []byte) {
	j := jobPool.Get().(*job)
	defer func() { j.reset(); jobPool.Put(j) }()
	j.start = time.Now()
	if s.tracer != nil {
		s.startIngress(ctx, j)
	}
	s.webhook(ctx, j, rest)
	status := ctx.Response.StatusCode()
	o := j.outcome
	if o == outcomeNone {
		o = outcomeOf(status)
	}
	s.metrics.request(j.prov, o, time.Since(j.start))
	if j.span != nil {
		j.endIngress(status, o)
	}
}

func (s *Server) webhook(ctx *fasthttp.RequestCtx, j *job, rest []byte) {
	if !ctx.IsPost() && !ctx.IsGet() {
		writeError(ctx, fasthttp.StatusMethodNotAllowed, "method_not_allowed", "use POST")
		return
	}
	envName, integName, ok := splitPair(rest)
	if !ok {
		writeError(ctx, fasthttp.StatusNotFound, "not_found", "expected /webhook/{environment}/{integration}")
		return
	}
	env, err := s.cfg.Environment(s.ctx, envName)
	if err != nil {
		s.configError(ctx, err, "environment")
		return
	}
	ig, err := s.cfg.Integration(s.ctx, envName, integName)
	if err != nil {
		s.configError(ctx, err, "integration")
		return
	}
	j.prov = ig.Provider
	j.annotate(env, ig)
	if max := ig.MaxBody; max > 0 && int64(len(ctx.PostBody())) > max {
		writeError(ctx, fasthttp.StatusRequestEntityTooLarge, "body_too_large", "request body exceeds the integration's max_body")
		return
	}
	s.handle(ctx, j, envName, integName, env, ig)
}

// configError answers a failed configuration lookup: 404 for a missing
// object, 503 when etcd cannot be read (the provider retries).
func (s *Server) configError(ctx *fasthttp.RequestCtx, err error, what string) {
	if errors.Is(err, config.ErrNotFound) {
		writeError(ctx, fasthttp.StatusNotFound, "not_found", "unknown "+what)
		return
	}
	if errors.Is(err, config.ErrOutage) { // the cache reports the outage itself, once
		s.log.Debug("gateway: configuration lookup failed during an etcd outage", "what", what, "err", err)
	} else {
		s.log.Error("gateway: configuration lookup failed", "what", what, "err", err)
	}
	overloaded(ctx, "configuration unavailable")
}

func (s *Server) handle(ctx *fasthttp.RequestCtx, j *job, envName, integName []byte, env *config.Env, ig *config.Integ) {
	if s.verifyRoute(ctx, j, envName, integName, env, ig) {
		s.enqueue(ctx, j, env, ig)
	}
}

// verifyRoute answers handshakes, proves the request authentic, routes it
// and finds its connections (in j), in the edgehook.verify and
// edgehook.route spans when tracing is on. It reports whether the request
// goes on to be spooled; otherwise it has answered it. With tracing off it
// does not allocate on the way to true.
func (s *Server) verifyRoute(ctx *fasthttp.RequestCtx, j *job, envName, integName []byte, env *config.Env, ig *config.Integ) bool {
	j.req = provider.Request{Req: &ctx.Request, Now: time.Now()}
	sp := s.child(j, spanVerify)
	ok := s.verify(ctx, j, env, ig)
	endSpan(sp)
	if !ok {
		return false
	}
	sp = s.child(j, spanRoute)
	ok = s.routeEvent(ctx, j, envName, integName, ig)
	endSpan(sp)
	return ok
}

// verify answers a handshake or proves the request authentic; it reports
// whether the request goes on.
func (s *Server) verify(ctx *fasthttp.RequestCtx, j *job, env *config.Env, ig *config.Integ) bool {
	if u, ok := ig.Instance.(provider.URLSigner); ok && u.SignsURL() {
		j.url = s.appendPublicURL(j.url[:0], ctx)
		j.req.URL = j.url
	}
	if hs, ok := ig.Instance.(provider.Handshaker); ok {
		handled, err := hs.Handshake(&j.req, &j.reply)
		if err != nil {
			s.requestError(ctx, ig, err)
			return false
		}
		if handled {
			if s.answerHandshake(ctx, env, ig, &j.reply) {
				j.outcome = outcomeHandshake
			}
			return false
		}
	}
	ok, err := ig.Instance.Verify(&j.req)
	if err != nil {
		s.requestError(ctx, ig, err)
		return false
	}
	if !ok {
		s.log.Info("gateway: authenticity check failed", "env", env.Name, "integration", ig.Name, "remote", ctx.RemoteIP().String())
		writeError(ctx, fasthttp.StatusUnauthorized, "unauthorized", "authenticity check failed")
		return false
	}
	return true
}

// routeEvent routes the request and finds its connections; it reports
// whether the request goes on.
func (s *Server) routeEvent(ctx *fasthttp.RequestCtx, j *job, envName, integName []byte, ig *config.Integ) bool {
	if err := ig.Instance.Route(&j.req, &j.rt); err != nil {
		s.requestError(ctx, ig, err)
		return false
	}
	if err := s.match(j, envName, integName); err != nil {
		s.configError(ctx, err, "connection")
		return false
	}
	return true
}

// match resolves the routing keys to distinct connections in j.conns, and
// records in j.keyOf which key matched each.
func (s *Server) match(j *job, envName, integName []byte) error {
	for i, k := range j.rt.Keys {
		n := len(j.conns)
		var err error
		if j.rt.ByID {
			var c *config.Conn
			if c, err = s.cfg.Connection(s.ctx, envName, integName, k); err == nil {
				j.conns = append(j.conns, c)
			} else if errors.Is(err, config.ErrNotFound) {
				err = nil
			}
		} else {
			j.conns, err = s.cfg.Lookup(s.ctx, envName, integName, j.rt.Field, k, j.conns)
		}
		if err != nil {
			return err
		}
		j.conns = dedupeTail(j.conns, n)
		for range j.conns[n:] {
			j.keyOf = append(j.keyOf, i)
		}
	}
	return nil
}

// dedupeTail drops from cs[n:] the connections already present, keeping
// order.
func dedupeTail(cs []*config.Conn, n int) []*config.Conn {
	out := cs[:n]
	for _, c := range cs[n:] {
		dup := false
		for _, o := range out {
			if o.ID == c.ID {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, c)
		}
	}
	return out
}

// addTargets fills j.parts with the payloads to store and j.targets with
// one forward per matched connection and URL (the connection's override,
// else the environment's URLs), and one runner delivery per matched
// connection and sync subscribed to the event (addRunners). A batch split
// per connection (Routing.Parts) gives each connection its own part,
// runner deliveries included. An unmatched event goes to no runner; one
// the environment forwards goes once per URL with a null connection id:
// the whole payload (the last part) when no key matched, and, for a split
// batch, the part of each key that matched nothing. Only the parts a
// target names are stored.
func (j *job) addTargets(env *config.Env, syncs []config.Sync) {
	whole := j.rt.Payload
	if whole == nil {
		whole = j.req.Req.Body()
	}
	j.parts = append(append(j.parts[:0], j.rt.Parts...), whole)
	wholePart := len(j.parts) - 1
	if len(j.conns) == 0 {
		j.addUnmatched(env, wholePart)
		return
	}
	for i, c := range j.conns {
		part := wholePart
		if k := j.keyOf[i]; k < len(j.rt.Parts) {
			part = k
		}
		j.addRunners(c.ID, part, syncs)
		if c.URLOverride != "" {
			j.targets = append(j.targets, delivery.Target{ConnectionID: c.ID, URL: c.URLOverride, Part: part})
			continue
		}
		for _, u := range env.URLs {
			j.targets = append(j.targets, delivery.Target{ConnectionID: c.ID, URL: u, Part: part})
		}
	}
	for i := range j.rt.Parts {
		if !slices.Contains(j.keyOf, i) {
			j.addUnmatched(env, i)
		}
	}
}

// addUnmatched appends the forwards of unmatched part, unless the
// environment drops unmatched events.
func (j *job) addUnmatched(env *config.Env, part int) {
	if env.DropUnmatched {
		return
	}
	for _, u := range env.URLs {
		j.targets = append(j.targets, delivery.Target{URL: u, Part: part})
	}
}

func (s *Server) enqueue(ctx *fasthttp.RequestCtx, j *job, env *config.Env, ig *config.Integ) {
	// Where the routing value is the credential (Streak's token), an
	// event no connection has was authenticated by nothing: it is
	// answered like a known one, counted and dropped, whatever the
	// environment's unmatched policy (SPEC §3, §7). The value is never
	// logged.
	credential := !j.rt.ByID && ig.Credential(j.rt.Field)
	switch {
	case credential && len(j.conns) == 0:
		s.unknown.Add(1)
		s.log.Debug("gateway: unknown routing credential; event dropped", "env", env.Name, "integration", ig.Name)
	default:
		j.addTargets(env, ig.Syncs)
		if len(j.conns) == 0 {
			s.log.Debug("gateway: unmatched event", "env", env.Name, "integration", ig.Name, "dropped", env.DropUnmatched)
		}
	}
	j.ev = delivery.Event{
		Env:         env.Name,
		Integration: ig.Name,
		Provider:    ig.Provider,
		DedupeTTL:   ig.DedupeWindow,
		Parts:       j.parts,
		Targets:     j.targets,
	}
	if len(j.rt.EventID) > 0 {
		j.ev.DedupeKey = string(j.rt.EventID)
	}
	j.ev.TraceParent = j.traceParent(ctx)
	j.header = appendPassthrough(j.header[:0], &ctx.Request.Header)
	j.ev.Header = j.header
	sp := s.child(j, spanSpool)
	res, err := s.spool.Accept(&j.ev)
	endSpan(sp)
	if err != nil {
		// The spool logs its own write failures, once (ErrUnavailable).
		if !errors.Is(err, delivery.ErrOverloaded) && !errors.Is(err, delivery.ErrUnavailable) {
			s.log.Error("gateway: spooling failed", "env", env.Name, "integration", ig.Name, "err", err)
		}
		overloaded(ctx, "spool unavailable, retry later")
		return
	}
	j.eventID = res.ID
	if res.Duplicate {
		j.outcome = outcomeDuplicate
	} else {
		j.outcome = outcomeAccepted
		s.metrics.routedEvent(ig.Provider, j.routeResult(env, credential))
	}
	if a, ok := ig.Instance.(provider.Acker); ok {
		j.reply = provider.Reply{}
		if a.Ack(&j.req, &j.reply); !j.reply.IsZero() {
			writeReply(ctx, &j.reply)
			return
		}
	}
	j.resp = append(j.resp[:0], `{"id":`...)
	j.resp = jsonx.AppendString(j.resp, res.ID)
	switch {
	case res.Duplicate:
		j.resp = append(j.resp, `,"duplicate":true}`...)
	case credential: // the same for a known and an unknown credential
		j.resp = append(j.resp, '}')
	default:
		j.resp = append(j.resp, `,"connections":`...)
		j.resp = strconv.AppendInt(j.resp, int64(len(j.conns)), 10)
		j.resp = append(j.resp, '}')
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(j.resp)
}

// routeResult classifies an accepted event's routing; an unknown routing
// credential is always dropped.
func (j *job) routeResult(env *config.Env, credential bool) routeResult {
	switch {
	case len(j.conns) > 0:
		return routedMatched
	case env.DropUnmatched || credential:
		return routedUnmatchedDropped
	}
	return routedUnmatchedForwarded
}

// requestError answers an error returned by a provider instance: its own
// status when it carries one, else 500.
func (s *Server) requestError(ctx *fasthttp.RequestCtx, ig *config.Integ, err error) {
	var pe *provider.Error
	if errors.As(err, &pe) {
		code := pe.Code
		if code == "" {
			code = "bad_request"
		}
		writeError(ctx, pe.Status, code, pe.Msg)
		return
	}
	s.log.Error("gateway: provider failed", "integration", ig.Name, "provider", ig.Provider, "err", err)
	writeError(ctx, fasthttp.StatusInternalServerError, "internal", "internal error")
}

func writeReply(ctx *fasthttp.RequestCtx, w *provider.Reply) {
	status := w.Status
	if status == 0 {
		status = fasthttp.StatusOK
	}
	ctx.SetStatusCode(status)
	if w.ContentType != "" {
		ctx.SetContentType(w.ContentType)
	}
	for _, h := range w.Header {
		ctx.Response.Header.Set(h[0], h[1])
	}
	ctx.SetBody(w.Body)
}
