package gateway

import (
	"context"
	"errors"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/config"
	"github.com/edgehook/edgehook/delivery"
	"github.com/edgehook/edgehook/delivery/spool"
)

// addRunners appends a runner delivery of connection connID's part for
// each sync subscribed to the event's type (SPEC §8). It does not
// allocate when j.targets has room.
func (j *job) addRunners(connID string, part int, syncs []config.Sync) {
	for i := range syncs {
		s := &syncs[i]
		if s.Subscribed(j.rt.EventType) {
			j.targets = append(j.targets, delivery.Target{Kind: spool.KindRunner, ConnectionID: connID,
				URL: s.RunnerURL, Part: part, SyncName: s.Name, Model: s.Model})
		}
	}
}

// syncNotification serves POST /v1/environments/{env}/sync-notifications
// (SPEC §8): a Nango sync webhook body, validated, spooled (synced) as
// one sync delivery per app URL of its connection, and answered 202 with
// the delivery id (and, with two URLs, every delivery id).
func (s *Server) syncNotification(c context.Context, ctx *fasthttp.RequestCtx, envName string) {
	if !ctx.IsPost() {
		writeError(ctx, fasthttp.StatusMethodNotAllowed, "method_not_allowed", "use POST")
		return
	}
	env, err := s.cfg.Environment(c, []byte(envName))
	if err != nil {
		s.configError(ctx, err, "environment")
		return
	}
	n, err := parseSyncNotification(ctx.PostBody())
	if err != nil {
		writeError(ctx, fasthttp.StatusBadRequest, "invalid", err.Error())
		return
	}
	ig, err := s.cfg.Integration(c, []byte(envName), []byte(n.ProviderConfigKey))
	if errors.Is(err, config.ErrNotFound) {
		writeError(ctx, fasthttp.StatusBadRequest, "invalid",
			"sync notification: providerConfigKey "+strconv.Quote(n.ProviderConfigKey)+" is not an integration of environment "+strconv.Quote(envName))
		return
	}
	if err != nil {
		s.configError(ctx, err, "integration")
		return
	}
	conn, err := s.cfg.Connection(c, []byte(envName), []byte(ig.Name), []byte(n.ConnectionID))
	if err != nil && !errors.Is(err, config.ErrNotFound) {
		s.configError(ctx, err, "connection")
		return
	}
	urls := env.URLsFor(conn)
	if len(urls) == 0 {
		writeError(ctx, fasthttp.StatusConflict, "no_webhook_url",
			"environment "+strconv.Quote(envName)+" has no webhook_urls and the connection no webhook_url_override")
		return
	}
	ev := delivery.Event{Env: env.Name, Integration: ig.Name, Provider: ig.Provider, Parts: [][]byte{n.Body}, WantIDs: true}
	if tp := ctx.Request.Header.Peek("traceparent"); len(tp) > 0 {
		ev.TraceParent = string(tp)
	}
	for _, u := range urls {
		ev.Targets = append(ev.Targets, delivery.Target{Kind: spool.KindSync, ConnectionID: n.ConnectionID, URL: u,
			SyncName: n.SyncName, Model: n.Model})
	}
	res, err := s.spool.Accept(&ev)
	if err != nil {
		if !errors.Is(err, delivery.ErrOverloaded) {
			s.log.Error("gateway: spooling a sync notification failed", "env", env.Name, "integration", ig.Name, "err", err)
		}
		overloaded(ctx, "spool unavailable, retry later")
		return
	}
	s.log.Info("gateway: sync notification accepted", "env", env.Name, "integration", ig.Name, "event", res.ID, "deliveries", len(res.Deliveries))
	body := map[string]any{"id": res.Deliveries[0]}
	if len(res.Deliveries) > 1 {
		body["deliveries"] = res.Deliveries
	}
	writeJSON(ctx, fasthttp.StatusAccepted, body)
}
