package gateway

import (
	"cmp"
	"context"
	"errors"
	"slices"

	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/delivery"
)

// The delivery admin calls (SPEC §5, §10). With Options.Peers they span
// every instance; a request with ?local=1 (what peers send each other)
// is answered from this instance's spool alone.

// local reports whether the request asks for this instance's deliveries
// only.
func (s *Server) local(ctx *fasthttp.RequestCtx) bool {
	return s.opts.Peers == nil || string(ctx.QueryArgs().Peek("local")) == "1"
}

func (s *Server) listDeliveries(c context.Context, ctx *fasthttp.RequestCtx, env string) {
	status := string(ctx.QueryArgs().Peek("status"))
	if status == "" {
		status = "dead"
	}
	if status != "dead" && status != "pending" {
		writeError(ctx, fasthttp.StatusBadRequest, "invalid", "status must be dead or pending")
		return
	}
	limit := 100
	if l := ctx.QueryArgs().GetUintOrZero("limit"); l > 0 && l <= 1000 {
		limit = l
	}
	after := string(ctx.QueryArgs().Peek("after"))
	list, err := s.spool.List(env, status, after, limit)
	if err != nil {
		s.adminError(ctx, err)
		return
	}
	out := map[string]any{}
	if !s.local(ctx) {
		more, err := s.opts.Peers.ListDeliveries(c, env, status, after, limit)
		if err != nil {
			s.log.Warn("gateway: listing other instances' deliveries", "err", err)
			out["partial"] = true
		}
		list = mergeInfos(list, more, limit)
	}
	if list == nil {
		list = []delivery.Info{}
	}
	out["deliveries"] = list
	writeJSON(ctx, fasthttp.StatusOK, out)
}

// mergeInfos merges two lists by id, each id once, up to limit.
func mergeInfos(a, b []delivery.Info, limit int) []delivery.Info {
	all := append(slices.Clip(a), b...)
	slices.SortStableFunc(all, func(x, y delivery.Info) int { return cmp.Compare(x.ID, y.ID) })
	all = slices.CompactFunc(all, func(x, y delivery.Info) bool { return x.ID == y.ID })
	return all[:min(len(all), limit)]
}

func (s *Server) getDelivery(c context.Context, ctx *fasthttp.RequestCtx, env, id string) {
	d, err := s.spool.Get(env, id)
	if errors.Is(err, delivery.ErrNotFound) && !s.local(ctx) {
		d, err = s.opts.Peers.GetDelivery(c, env, id)
	}
	if err != nil {
		s.adminError(ctx, err)
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, d)
}

func (s *Server) retryDelivery(c context.Context, ctx *fasthttp.RequestCtx, env, id string) {
	err := s.spool.Retry(env, id)
	if errors.Is(err, delivery.ErrNotFound) && !s.local(ctx) {
		err = s.opts.Peers.RetryDelivery(c, env, id)
	}
	if err != nil {
		s.adminError(ctx, err)
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"id": id, "status": "pending"})
}
