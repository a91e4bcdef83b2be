package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/edgehook/edgehook/delivery"
)

// Admin asks the other registered instances' admin APIs for their
// deliveries, with ?local=1 so that they answer from their own spool;
// it implements gateway.Peers.
type Admin struct {
	reg    *Registry
	token  string
	client *http.Client
}

// NewAdmin returns an Admin over reg's peers, sending token as bearer.
func NewAdmin(reg *Registry, token string) *Admin {
	return &Admin{reg: reg, token: token, client: &http.Client{Timeout: 5 * time.Second}}
}

// ListDeliveries returns the deliveries every peer lists for q. A peer
// that does not answer is left out and reported in the error.
func (a *Admin) ListDeliveries(ctx context.Context, env string, q delivery.Query) ([]delivery.Info, error) {
	v := url.Values{"status": {q.Status}, "limit": {strconv.Itoa(q.Limit)}, "local": {"1"}}
	for k, s := range map[string]string{"after": q.After, "integration": q.Integration, "connection_id": q.ConnectionID} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return all(a, ctx, "/v1/environments/"+url.PathEscape(env)+"/deliveries?"+v.Encode(),
		func(r *struct {
			Deliveries []delivery.Info `json:"deliveries"`
		}) []delivery.Info {
			return r.Deliveries
		})
}

// FindEvent returns the deliveries of event eventID every peer holds.
func (a *Admin) FindEvent(ctx context.Context, env, eventID string) ([]delivery.Detail, error) {
	return all(a, ctx, "/v1/environments/"+url.PathEscape(env)+"/events/"+url.PathEscape(eventID)+"?local=1",
		func(r *delivery.EventReport) []delivery.Detail { return r.Deliveries })
}

// FindProviderDelivery asks the peers in turn for the event provider
// delivery id key of integ became.
func (a *Admin) FindProviderDelivery(ctx context.Context, env, integ, key string) (*delivery.EventReport, error) {
	var r delivery.EventReport
	err := a.first(ctx, http.MethodGet, "/v1/environments/"+url.PathEscape(env)+"/integrations/"+url.PathEscape(integ)+
		"/events?local=1&provider_delivery_id="+url.QueryEscape(key), &r)
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// all GETs path from every peer at once and gathers what pick takes of
// each reply. A peer that does not answer is left out and reported in the
// error; one that answers 404 (it holds none) is left out.
func all[R, T any](a *Admin, ctx context.Context, path string, pick func(*R) []T) ([]T, error) {
	peers, err := a.reg.Peers(ctx)
	if err != nil {
		return nil, err
	}
	var (
		mu   sync.Mutex
		out  []T
		errs []error
		wg   sync.WaitGroup
	)
	for _, p := range peers {
		wg.Go(func() {
			var r R
			err := a.call(ctx, http.MethodGet, p, path, &r)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, delivery.ErrNotFound):
			case err != nil:
				errs = append(errs, err)
			default:
				out = append(out, pick(&r)...)
			}
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// GetDelivery asks the peers in turn for delivery id.
func (a *Admin) GetDelivery(ctx context.Context, env, id string) (*delivery.Detail, error) {
	var d delivery.Detail
	err := a.first(ctx, http.MethodGet, "/v1/environments/"+url.PathEscape(env)+"/deliveries/"+url.PathEscape(id)+"?local=1", &d)
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// RetryDelivery asks the peers in turn to retry dead letter id.
func (a *Admin) RetryDelivery(ctx context.Context, env, id string) error {
	return a.first(ctx, http.MethodPost, "/v1/environments/"+url.PathEscape(env)+"/deliveries/"+url.PathEscape(id)+"/retry?local=1", nil)
}

// first calls path on each peer until one answers other than 404; none
// does: delivery.ErrNotFound (or the errors of those that failed).
func (a *Admin) first(ctx context.Context, method, path string, v any) error {
	peers, err := a.reg.Peers(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range peers {
		err := a.call(ctx, method, p, path, v)
		if err == nil {
			return nil
		}
		if !errors.Is(err, delivery.ErrNotFound) {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return fmt.Errorf("no instance holds it: %w", delivery.ErrNotFound)
}

// call makes one admin request to peer p and decodes its JSON reply into
// v (when not nil); a 404 is delivery.ErrNotFound.
func (a *Admin) call(ctx context.Context, method string, p Instance, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(p.Admin, "/")+path, nil)
	if err != nil {
		return err
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return fmt.Errorf("cluster: instance %s: %w", p.Admin, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return delivery.ErrNotFound
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("cluster: instance %s: %s %s", p.Admin, resp.Status, body)
	case v == nil:
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("cluster: instance %s: %w", p.Admin, err)
	}
	return nil
}
