// Package cluster lets the instances of one tier find each other: each
// registers its admin URL in etcd under a lease, so that an instance that
// is gone drops out within the lease's TTL, and the delivery admin calls
// of one instance can ask the others (Admin). It is needed where each
// instance keeps its spool on its own disk; on a shared spool (JetStream)
// every instance sees every delivery.
package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Instance is what an instance registers.
type Instance struct {
	ID      string    `json:"id"`
	Admin   string    `json:"admin"` // base URL of its admin API
	Started time.Time `json:"started"`
}

// Registry is this instance's registration.
type Registry struct {
	cli    *clientv3.Client
	prefix string // {etcd prefix}/instances/
	self   Instance
	lease  clientv3.LeaseID
	cancel context.CancelFunc
	log    *slog.Logger
}

// Register registers an instance whose admin API is at adminURL under
// {prefix}/instances/{id}, on a lease of ttl kept alive until Close.
func Register(ctx context.Context, cli *clientv3.Client, prefix, adminURL string, ttl time.Duration, log *slog.Logger) (*Registry, error) {
	var b [8]byte
	rand.Read(b[:])
	r := &Registry{cli: cli, prefix: prefix + "/instances/", log: log,
		self: Instance{ID: hex.EncodeToString(b[:]), Admin: adminURL, Started: time.Now().UTC()}}
	g, err := cli.Grant(ctx, int64(max(ttl/time.Second, 2)))
	if err != nil {
		return nil, fmt.Errorf("cluster: lease: %w", err)
	}
	r.lease = g.ID
	v, _ := json.Marshal(r.self)
	if _, err := cli.Put(ctx, r.prefix+r.self.ID, string(v), clientv3.WithLease(g.ID)); err != nil {
		return nil, fmt.Errorf("cluster: registering: %w", err)
	}
	kctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	ch, err := cli.KeepAlive(kctx, g.ID)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("cluster: keeping the lease: %w", err)
	}
	go r.keep(kctx, ch)
	return r, nil
}

// keep drains the lease's keep-alive replies; when the lease is lost
// (etcd unreachable past its TTL) it registers again.
func (r *Registry) keep(ctx context.Context, ch <-chan *clientv3.LeaseKeepAliveResponse) {
	for {
		for range ch {
		}
		if ctx.Err() != nil {
			return
		}
		r.log.Warn("cluster: the registration's lease was lost; registering again")
		for ctx.Err() == nil {
			if next, err := r.renew(ctx); err == nil {
				ch = next
				break
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	}
}

func (r *Registry) renew(ctx context.Context) (<-chan *clientv3.LeaseKeepAliveResponse, error) {
	g, err := r.cli.Grant(ctx, 10)
	if err != nil {
		return nil, err
	}
	v, _ := json.Marshal(r.self)
	if _, err := r.cli.Put(ctx, r.prefix+r.self.ID, string(v), clientv3.WithLease(g.ID)); err != nil {
		return nil, err
	}
	r.lease = g.ID
	return r.cli.KeepAlive(ctx, g.ID)
}

// Self returns this instance's registration.
func (r *Registry) Self() Instance { return r.self }

// Peers returns the other registered instances.
func (r *Registry) Peers(ctx context.Context) ([]Instance, error) {
	resp, err := r.cli.Get(ctx, r.prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("cluster: listing instances: %w", err)
	}
	var out []Instance
	for _, kv := range resp.Kvs {
		var in Instance
		if json.Unmarshal(kv.Value, &in) == nil && in.ID != r.self.ID && in.Admin != "" {
			out = append(out, in)
		}
	}
	return out, nil
}

// Close removes the registration.
func (r *Registry) Close() {
	r.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	r.cli.Revoke(ctx, r.lease)
}
