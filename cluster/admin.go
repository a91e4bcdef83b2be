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

// ListDeliveries returns the deliveries every peer lists after the id
// after. A peer that does not answer is left out and reported in the
// error.
func (a *Admin) ListDeliveries(ctx context.Context, env, status, after string, limit int) ([]delivery.Info, error) {
	peers, err := a.reg.Peers(ctx)
	if err != nil {
		return nil, err
	}
	var (
		mu   sync.Mutex
		out  []delivery.Info
		errs []error
		wg   sync.WaitGroup
	)
	q := url.Values{"status": {status}, "limit": {strconv.Itoa(limit)}, "local": {"1"}}
	if after != "" {
		q.Set("after", after)
	}
	for _, p := range peers {
		wg.Go(func() {
			var r struct {
				Deliveries []delivery.Info `json:"deliveries"`
			}
			err := a.call(ctx, http.MethodGet, p, "/v1/environments/"+url.PathEscape(env)+"/deliveries?"+q.Encode(), &r)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			out = append(out, r.Deliveries...)
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
