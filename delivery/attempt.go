package delivery

import (
	"errors"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"
)

// maxErrorText bounds the last error kept with a delivery.
const maxErrorText = 256

// outcome is what one attempt produced.
type outcome struct {
	status     int           // HTTP status, 0 when no reply
	retryAfter time.Duration // from a Retry-After reply header, 0 if none
	err        error         // transport error, nil when a reply came
}

// delivered reports a 2xx reply.
func (o outcome) delivered() bool { return o.err == nil && o.status >= 200 && o.status < 300 }

// healthy reports whether the reply shows a working destination, for its
// circuit: anything but a transport error, a timeout, 408, 429 and 5xx.
func (o outcome) healthy() bool {
	return o.err == nil && o.status != 408 && o.status != 429 && o.status < 500
}

// run makes the attempt for r, then for the destination's next ready
// deliveries while the circuit allows, keeping its slot in the pool.
func (s *Service) run(d *dest, r *Record) {
	defer s.attempts.Done()
	for r != nil {
		o, due, failed := s.attempt(r)
		r = s.finish(d, r, o, due, failed)
	}
}

// attempt sends r once and stores the result: removed when delivered, gone
// on 410, else rescheduled per the schedule or dead-lettered. It returns
// what happened and, when r was rescheduled, its new due time; failed
// means the result could not be stored, so r is still queued as it was.
func (s *Service) attempt(r *Record) (o outcome, due time.Time, failed bool) {
	now := s.opts.Now()
	n := r.Attempts + 1
	body := r.Body
	var err error
	if body == nil {
		err = s.withStore(func() (err error) {
			body, err = s.spool.Body(r)
			return err
		})
	}
	if err == nil {
		o = s.send(r, body, n, now)
	} else {
		o.err = err
	}
	next := *r
	next.Attempts, next.LastAttempt, next.LastStatus = n, now, o.status
	next.LastError = ""
	if o.err != nil {
		next.LastError = truncate(o.err.Error(), maxErrorText)
	}
	switch {
	case o.delivered():
		err = s.withStore(func() error { return s.spool.Complete(r) })
	case o.err == nil && o.status == fasthttp.StatusGone:
		next.Status = StatusGone
		err = s.withStore(func() error { return s.spool.Update(r, &next) })
	default:
		if delay, ok := s.nextDelay(n, r.Base, o.retryAfter); ok {
			next.Due = now.Add(delay)
		} else {
			next.Status = StatusDead
		}
		err = s.withStore(func() error { return s.spool.Update(r, &next) })
	}
	s.logAttempt(r, &next, o, err)
	switch {
	case err != nil:
		return o, now.Add(loadRetry), true // try it again later
	case o.delivered() || next.Status != StatusPending:
		return o, time.Time{}, false // removed, or a dead letter
	}
	return o, next.Due, false
}

// finish releases r after its attempt, notes its new due time (if it was
// rescheduled) in the same critical section, so that no load can miss it,
// and records the outcome in d's circuit. When the attempt's result could
// not be stored (failed), r is still queued where a scan has already
// passed, so the spool is told to look at d's queue again. It returns the
// next delivery this worker should send, or nil when the worker's slot is
// given back.
func (s *Service) finish(d *dest, r *Record, o outcome, due time.Time, failed bool) *Record {
	now := s.opts.Now()
	defer s.wake()
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(d.held, r.ID)
	s.inMem--
	s.memBody -= len(r.Body)
	if failed {
		s.spool.Release(d.key)
	}
	if !due.IsZero() {
		d.noteDisk(due)
	}
	if d.record(o.healthy(), now, &s.opts) {
		s.log.Warn("delivery: destination circuit changed", "destination", d.key, "open", d.open, "cooldown", d.cooldown)
		if d.open {
			s.releaseReady(d, now)
		}
	}
	if !s.closed && d.ready() > 0 && d.allow(now) {
		d.started()
		return d.pop()
	}
	d.inflight--
	s.inFlight--
	return nil
}

// releaseReady gives d's ready deliveries back to the spool, so that a
// destination that cannot take them does not hold memory other
// destinations need; they are loaded again once its circuit lets attempts
// through. s.mu is held.
func (s *Service) releaseReady(d *dest, now time.Time) {
	if d.ready() == 0 {
		return
	}
	for _, q := range [...][]*Record{d.first, d.retry} {
		for _, r := range q {
			delete(d.held, r.ID)
			s.inMem--
			s.memBody -= len(r.Body)
		}
	}
	d.first, d.retry = nil, nil
	s.spool.Release(d.key)
	d.noteDisk(now)
}

// send makes one POST of body for r, signed for the attempt number n made
// at now.
func (s *Service) send(r *Record, body []byte, n int, now time.Time) outcome {
	secret, err := s.opts.Secret(r.Env)
	if err != nil {
		return outcome{err: err}
	}
	ts := now.Unix()
	sig, err := sign(secret, r.ID, ts, body)
	if err != nil {
		return outcome{err: err}
	}
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(r.URL)
	req.Header.SetMethod(fasthttp.MethodPost)
	visitHeader(r.Header, func(k, v []byte) { req.Header.AddBytesKV(k, v) })
	req.Header.SetContentType("application/json")
	req.Header.Set("X-Nango-Hmac-Sha256", sig.nangoHMAC)
	req.Header.Set("X-Nango-Signature", sig.nangoLegacy)
	req.Header.Set("webhook-id", r.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sig.standard)
	req.Header.Set("traceparent", r.TraceParent)
	req.Header.Set("X-Edgehook-Attempt", strconv.Itoa(n))
	req.SetBodyRaw(body)
	err = s.client.DoTimeout(req, resp, s.opts.AttemptTimeout)
	o := outcome{status: resp.StatusCode()}
	if errors.Is(err, fasthttp.ErrBodyTooLarge) && o.status != 0 {
		err = nil // the reply's status is what counts; its body is not read
	}
	if err != nil {
		return outcome{err: err}
	}
	o.retryAfter = parseRetryAfter(resp.Header.Peek("Retry-After"), now)
	return o
}

// logAttempt logs a failed attempt, or the failure to store its result.
// Payloads and secrets are never logged.
func (s *Service) logAttempt(r, next *Record, o outcome, storeErr error) {
	if storeErr != nil {
		s.log.Error("delivery: storing an attempt's result", "delivery", r.ID, "err", storeErr)
	}
	if o.delivered() {
		s.log.Debug("delivery: delivered", "delivery", r.ID, "destination", r.Dest, "attempt", next.Attempts)
		return
	}
	s.log.Info("delivery: attempt failed", "delivery", r.ID, "event", r.EventID, "destination", r.Dest,
		"attempt", next.Attempts, "status", o.status, "err", next.LastError, "state", next.Status.String(),
		"next_attempt", next.Due)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
