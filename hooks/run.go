package hooks

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/edgehook/edgehook/config"
	"github.com/edgehook/edgehook/provider"
)

// writeTimeout bounds each etcd write of a run; it is not cut short by
// Close, so an interrupted attempt is still recorded.
const writeTimeout = 5 * time.Second

// run makes one attempt of a claimed task and records its outcome.
func (w *Worker) run(cl *config.Claim) {
	t := cl.Task()
	log := w.log.With("environment", t.Env, "integration", t.Integration, "connection", t.Connection, "hook", t.Hook)
	wctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), writeTimeout)
	retryAt := time.Now().Add(w.backoff(t.Attempts + 1))
	run, err := cl.Begin(wctx, retryAt)
	cancel()
	switch {
	case errors.Is(err, config.ErrTaskWaiting):
		return
	case errors.Is(err, config.ErrTaskCancelled):
		log.Info("hooks: task cancelled: its connection is gone or being deleted")
		return
	case errors.Is(err, config.ErrClaimLost):
		log.Warn("hooks: claim lost before the attempt; another instance takes the task")
		return
	case err != nil:
		w.fail(cl, log, err, config.Failure{Uncounted: true, RetryAt: retryAt})
		return
	}
	var res provider.HookResult
	if run.Lifecycle == nil {
		log.Warn("hooks: the integration's provider no longer has this hook; completing the task without running it")
	} else {
		call := run.Call
		call.PublicURL, call.Client = w.opts.PublicURL, w.client
		actx, cancel := context.WithTimeout(w.ctx, w.opts.Timeout)
		res, err = run.Lifecycle.RunHook(actx, &call)
		cancel()
		if err != nil {
			if w.ctx.Err() != nil {
				err = errors.New("hooks: attempt interrupted: the gateway is shutting down")
			}
			w.fail(cl, log, err, config.Failure{RetryAt: retryAt, State: res.State})
			return
		}
	}
	wctx, cancel = context.WithTimeout(context.WithoutCancel(w.ctx), writeTimeout)
	defer cancel()
	if err := cl.Succeed(wctx, res); err != nil {
		log.Warn("hooks: storing the hook's result", "err", err)
		return
	}
	log.Info("hooks: hook done", "attempts", cl.Task().Attempts)
}

// fail records a failed attempt: retried at f.RetryAt, or failed for good
// when a creation hook has used its attempts.
func (w *Worker) fail(cl *config.Claim, log *slog.Logger, err error, f config.Failure) {
	w.failures.Add(1)
	t := cl.Task()
	attempts := t.Attempts
	if f.Uncounted {
		attempts++
	}
	f.Msg = err.Error()
	f.GiveUp = t.Hook == provider.PostConnectionCreation && attempts >= w.opts.MaxCreationAttempts
	if f.GiveUp {
		log.Warn("hooks: hook failed; giving up", "attempts", attempts, "err", f.Msg)
	} else {
		log.Warn("hooks: hook attempt failed", "attempts", attempts, "retry_at", f.RetryAt, "err", f.Msg)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), writeTimeout)
	defer cancel()
	if err := cl.Fail(ctx, f); err != nil && !errors.Is(err, config.ErrTaskCancelled) {
		log.Warn("hooks: recording the failed attempt", "err", err)
	}
}

// backoff is the delay after failed attempt n (from 1): MinBackoff
// doubling up to MaxBackoff, ±20 %.
func (w *Worker) backoff(n int) time.Duration {
	d := w.opts.MinBackoff
	for i := 1; i < n && d < w.opts.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, w.opts.MaxBackoff)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}
