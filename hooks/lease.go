package hooks

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// grant grants a new claim lease.
func (w *Worker) grant(ctx context.Context) (clientv3.LeaseID, error) {
	ttl := int64((w.opts.LeaseTTL + time.Second - 1) / time.Second)
	resp, err := w.cli.Grant(ctx, ttl)
	if err != nil {
		return 0, fmt.Errorf("hooks: granting the claim lease: %w", err)
	}
	return resp.ID, nil
}

// keepLease keeps the lease alive until the worker stops. When it is lost
// (etcd unreachable for longer than its TTL), the claims on it are gone
// and their runs end with config.ErrClaimLost; a new lease is granted.
func (w *Worker) keepLease(id clientv3.LeaseID) {
	defer w.wg.Done()
	delay := 100 * time.Millisecond
	for {
		if id != 0 {
			w.lease.Store(int64(id))
			if ch, err := w.cli.KeepAlive(w.ctx, id); err == nil {
				for range ch {
					delay = 100 * time.Millisecond
				}
			}
			if w.ctx.Err() != nil {
				return
			}
			w.lease.CompareAndSwap(int64(id), 0)
			w.log.Warn("hooks: claim lease lost; granting a new one")
		}
		if w.sleep(delay) {
			return
		}
		delay = min(2*delay, w.opts.LeaseTTL)
		ctx, cancel := context.WithTimeout(w.ctx, w.opts.LeaseTTL)
		var err error
		if id, err = w.grant(ctx); err != nil {
			w.log.Warn("hooks: claim lease", "err", err)
		}
		cancel()
	}
}

// currentLease returns the lease to claim under, 0 when none is held.
func (w *Worker) currentLease() clientv3.LeaseID { return clientv3.LeaseID(w.lease.Load()) }
