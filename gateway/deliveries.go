package gateway

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

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
	args := ctx.QueryArgs()
	q := delivery.Query{Status: string(args.Peek("status")), Integration: string(args.Peek("integration")),
		ConnectionID: string(args.Peek("connection_id")), After: string(args.Peek("after")), Limit: 100}
	if q.Status == "" {
		q.Status = "dead"
	}
	if l := args.GetUintOrZero("limit"); l > 0 && l <= 1000 {
		q.Limit = l
	}
	list, next, err := s.spool.List(env, q)
	if err != nil {
		s.adminError(ctx, err)
		return
	}
	out := map[string]any{}
	if !s.local(ctx) {
		more, err := s.opts.Peers.ListDeliveries(c, env, q)
		if err != nil {
			s.log.Warn("gateway: listing other instances' deliveries", "err", err)
			out["partial"] = true
		}
		switch {
		case len(more) == 0:
		case q.Status == "delivered": // each instance's journal, newest first
			list = append(list, more...)
			at := func(in delivery.Info) time.Time {
				if in.LastAttempt == nil {
					return time.Time{}
				}
				return *in.LastAttempt
			}
			slices.SortStableFunc(list, func(x, y delivery.Info) int { return at(y).Compare(at(x)) })
			list = list[:min(len(list), q.Limit)]
		default:
			list = mergeInfos(list, more, q.Limit)
			if len(list) == q.Limit {
				next = list[len(list)-1].ID
			}
		}
	}
	if list == nil {
		list = []delivery.Info{}
	}
	out["deliveries"] = list
	if next != "" {
		out["next_after"] = next
	}
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

// maxBulkRetry bounds the ids one bulk retry names.
const maxBulkRetry = 100

// retryMany serves POST /v1/environments/{env}/deliveries/retry with
// {"ids": [...]}: each dead letter is retried as a single retry would be,
// and the reply says per id what became of it.
func (s *Server) retryMany(c context.Context, ctx *fasthttp.RequestCtx, env string) {
	ids, err := parseRetryIDs(ctx.PostBody())
	if err != nil {
		writeError(ctx, fasthttp.StatusBadRequest, "invalid", err.Error())
		return
	}
	type result struct {
		ID     string    `json:"id"`
		Status string    `json:"status,omitempty"` // pending once retried
		Error  *apiError `json:"error,omitempty"`
	}
	out := make([]result, len(ids))
	for i, id := range ids {
		out[i].ID = id
		err := s.spool.Retry(env, id)
		if errors.Is(err, delivery.ErrNotFound) && !s.local(ctx) {
			err = s.opts.Peers.RetryDelivery(c, env, id)
		}
		switch {
		case err == nil:
			out[i].Status = "pending"
		case errors.Is(err, delivery.ErrNotFound):
			out[i].Error = &apiError{Code: "not_found", Message: "no dead letter with this id"}
		default:
			s.log.Error("gateway: bulk retry", "delivery", id, "err", err)
			out[i].Error = &apiError{Code: "unavailable", Message: "the spool is unavailable; retry later"}
		}
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"results": out})
}

// parseRetryIDs reads a bulk retry's body: {"ids": [...]} with 1 to
// maxBulkRetry delivery ids, each named once.
func parseRetryIDs(body []byte) ([]string, error) {
	var req struct {
		IDs []string `json:"ids"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return nil, fmt.Errorf("the body must be {\"ids\": [\"…\"]}: %v", err)
	}
	if dec.More() {
		return nil, errors.New("the body must be one JSON object")
	}
	if len(req.IDs) == 0 || len(req.IDs) > maxBulkRetry {
		return nil, fmt.Errorf("ids must name 1 to %d deliveries", maxBulkRetry)
	}
	seen := make(map[string]bool, len(req.IDs))
	ids := req.IDs[:0]
	for _, id := range req.IDs {
		if id == "" || len(id) > 128 {
			return nil, errors.New("a delivery id must be 1 to 128 characters")
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// findEvent serves GET /v1/environments/{env}/events/{event_id}: the
// event's deliveries on every instance; 404 when none is known.
func (s *Server) findEvent(c context.Context, ctx *fasthttp.RequestCtx, env, eventID string) {
	r, err := s.eventReport(c, ctx, env, eventID)
	if err != nil {
		s.adminError(ctx, err)
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, r)
}

func (s *Server) eventReport(c context.Context, ctx *fasthttp.RequestCtx, env, eventID string) (*delivery.EventReport, error) {
	ds, err := s.spool.FindEvent(env, eventID)
	if err != nil {
		return nil, err
	}
	if !s.local(ctx) {
		more, err := s.opts.Peers.FindEvent(c, env, eventID)
		if err != nil {
			s.log.Warn("gateway: finding an event on other instances", "err", err)
		}
		ds = append(ds, more...)
	}
	if len(ds) == 0 {
		return nil, fmt.Errorf("no delivery of event %q is pending, dead or recently delivered: %w", eventID, delivery.ErrNotFound)
	}
	slices.SortStableFunc(ds, func(a, b delivery.Detail) int { return cmp.Compare(a.ID, b.ID) })
	ds = slices.CompactFunc(ds, func(a, b delivery.Detail) bool { return a.ID == b.ID })
	return &delivery.EventReport{EventID: eventID, Deliveries: ds}, nil
}

// findProviderDelivery serves GET
// /v1/environments/{env}/integrations/{integ}/events?provider_delivery_id=X:
// the event a provider's own delivery id (X-GitHub-Delivery, Stripe's
// event id: the integration's dedupe key) became, while its dedupe
// record lives.
func (s *Server) findProviderDelivery(c context.Context, ctx *fasthttp.RequestCtx, env, integ string) {
	key := string(ctx.QueryArgs().Peek("provider_delivery_id"))
	if key == "" {
		writeError(ctx, fasthttp.StatusBadRequest, "invalid", "provider_delivery_id is required")
		return
	}
	id, ok, err := s.spool.EventFor(env, integ, key)
	if err != nil {
		s.adminError(ctx, err)
		return
	}
	var r *delivery.EventReport
	switch {
	case ok:
		r, err = s.eventReport(c, ctx, env, id)
		if errors.Is(err, delivery.ErrNotFound) { // accepted, and every delivery delivered long ago
			r, err = &delivery.EventReport{EventID: id, Deliveries: []delivery.Detail{}}, nil
		}
	case !s.local(ctx):
		r, err = s.opts.Peers.FindProviderDelivery(c, env, integ, key)
	default:
		err = fmt.Errorf("no event of integration %q has provider delivery id %q within its dedupe window: %w", integ, key, delivery.ErrNotFound)
	}
	if err != nil {
		s.adminError(ctx, err)
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, r)
}
