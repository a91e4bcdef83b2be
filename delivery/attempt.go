package delivery

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/edgehook/edgehook/delivery/scheduler"
	"github.com/edgehook/edgehook/delivery/sender"
	"github.com/edgehook/edgehook/delivery/spool"
)

// maxExpiredPerAttempt bounds the expired deliveries one attempt
// dead-letters before it makes its attempt.
const maxExpiredPerAttempt = 1000

// attempt is the scheduler's Attempt: it leases one due delivery of dest,
// sends it, and records the result in the spool: removed when delivered,
// gone on 410, else rescheduled per the schedule or dead-lettered. A
// failure of ours (the secret or the body unavailable) makes no attempt:
// the delivery waits Options.LocalRetry and the destination is not
// blamed. A delivery whose schedule has run out (it waited behind its
// destination's open circuit) is dead-lettered, not sent, and the next
// one is leased.
func (s *Service) attempt(dest string) scheduler.Report {
	var d *spool.Delivery
	now := s.opts.Now()
	for range maxExpiredPerAttempt {
		ds, _, err := s.spool.Lease(dest, now, 1, s.ttl)
		if err != nil {
			return scheduler.Report{Local: true, Error: err.Error()}
		}
		if len(ds) == 0 {
			return scheduler.Report{Empty: true}
		}
		if d = ds[0]; d.Expires.IsZero() || now.Before(d.Expires) {
			break
		}
		s.expire(d)
		d = nil
	}
	if d == nil {
		return scheduler.Report{Empty: true}
	}
	req, err := s.request(d)
	var apps []string // where a runner's reply sends a sync webhook
	if err == nil && d.Kind == spool.KindRunner {
		apps, err = s.opts.AppURLs(d.Env, d.Integration, d.ConnectionID)
	}
	if err != nil {
		s.release(d, err)
		return scheduler.Report{Local: true, Error: err.Error()}
	}
	sp := s.startAttempt(d, req)
	start := s.opts.Now()
	o := s.client.Send(req, start)
	if errors.Is(o.Err, sender.ErrNotSent) {
		s.release(d, o.Err)
		endAttempt(sp, 0, "not_sent", o.Err.Error())
		return scheduler.Report{Local: true, Error: o.Err.Error()}
	}
	a := spool.Attempt{At: start, Duration: s.opts.Now().Sub(start), Status: o.Status}
	if o.Err != nil {
		a.Error = o.Err.Error()
	}
	s.metrics.attempted(d.Kind, a.Duration)
	outcome := s.record(d, a, o, apps)
	endAttempt(sp, o.Status, outcome, a.Error)
	return scheduler.Report{Healthy: o.Healthy(), Latency: a.Duration, Error: describe(a),
		Delivery: d.ID, Env: d.Env, Integration: d.Integration, TraceID: traceID(d.TraceParent)}
}

// expire dead-letters d, whose retry schedule ran out before its
// destination could take it.
func (s *Service) expire(d *spool.Delivery) {
	if err := s.spool.Dead(d, spool.Attempt{}, spool.StatusDead, reasonExpired); err != nil {
		s.log.Error("delivery: dead-lettering an expired delivery", "delivery", d.ID, "err", err)
		s.spool.Release(d, time.Time{})
		return
	}
	s.expired(d)
}

// reasonExpired is the reason of a delivery dead-lettered because its
// retry schedule ran out before its destination could take it.
const reasonExpired = "its retry schedule ran out while its destination was unavailable"

// expired counts and logs d, dead-lettered with reasonExpired.
func (s *Service) expired(d *spool.Delivery) {
	s.metrics.delivered(d.Kind, outcomeDead)
	s.log.Info("delivery: expired", "delivery", d.ID, "event", d.EventID, "env", d.Env, "integration", d.Integration,
		"destination", d.Dest, "attempts", d.Attempts, "trace_id", traceID(d.TraceParent))
}

// request builds the attempt of d.
func (s *Service) request(d *spool.Delivery) (*sender.Request, error) {
	secret, err := s.opts.Secret(d.Env)
	if err != nil {
		return nil, err
	}
	body, err := s.spool.Body(d)
	if err != nil {
		return nil, err
	}
	r := &sender.Request{URL: d.URL, Dest: d.Dest, ID: d.ID, Attempt: d.Attempts + 1, TraceParent: d.TraceParent,
		Header: body.Header, Secret: secret, Payload: body}
	switch d.Kind {
	case spool.KindRunner:
		r.Prefix, r.Suffix = sender.RunnerEnvelope(d.Integration, d.ConnectionID, d.SyncName, d.Model, body.Len() == 0)
		r.WantReply = true // its counts may make a sync webhook
	case spool.KindSync: // the notification as posted
	default:
		r.Prefix, r.Suffix = sender.ForwardEnvelope(d.Provider, d.Integration, d.ConnectionID, body.Len() == 0)
	}
	return r, nil
}

// release puts d back after a failure of ours.
func (s *Service) release(d *spool.Delivery, cause error) {
	s.log.Warn("delivery: attempt not made, retrying later", "delivery", d.ID, "env", d.Env,
		"integration", d.Integration, "destination", d.Dest, "err", cause)
	if err := s.spool.Release(d, s.opts.Now().Add(s.opts.LocalRetry)); err != nil {
		s.log.Error("delivery: releasing a delivery", "delivery", d.ID, "err", err)
	}
}

// record stores the result of attempt a of d and returns what became of
// d: delivered, retried, dead or gone (edgehook_deliveries_total). A
// runner delivery's 2xx reply is read for its counts (ackRunner); apps are
// where they send a sync webhook.
func (s *Service) record(d *spool.Delivery, a spool.Attempt, o sender.Outcome, apps []string) string {
	var err error
	state := outcomeDelivered
	switch {
	case o.Delivered() && d.Kind == spool.KindRunner:
		state, err = s.ackRunner(d, &a, o.Reply, apps)
	case o.Delivered():
		err = s.spool.Ack(d, a, nil)
	case o.Err == nil && o.Status == http.StatusGone:
		state = outcomeGone
		err = s.spool.Dead(d, a, spool.StatusGone, "the app answered 410 Gone")
	default:
		delay, ok := s.nextDelay(d.Attempts+1, d.Base, o.RetryAfter)
		if ok {
			state = outcomeRetried
			err = s.spool.Reschedule(d, a, a.At.Add(a.Duration+delay))
		} else {
			state = outcomeDead
			err = s.spool.Dead(d, a, spool.StatusDead, "retry schedule exhausted")
		}
	}
	if err != nil {
		// The stored delivery is as it was: it is put back at once, and
		// attempted again (the app may get it twice).
		s.log.Error("delivery: storing an attempt's result", "delivery", d.ID, "err", err)
		if err := s.spool.Release(d, time.Time{}); err != nil {
			s.log.Error("delivery: releasing a delivery", "delivery", d.ID, "err", err)
		}
	} else {
		s.metrics.delivered(d.Kind, state)
	}
	if state == outcomeDelivered {
		if err == nil {
			s.recent.add(d, a)
		}
		return state
	}
	s.log.Info("delivery: attempt failed", "delivery", d.ID, "event", d.EventID, "kind", d.Kind.String(), "env", d.Env,
		"integration", d.Integration, "destination", d.Dest, "attempt", d.Attempts+1,
		"status", o.Status, "err", a.Error, "state", state, "trace_id", traceID(d.TraceParent))
	return state
}

// describe is an attempt's failure as the destination listing shows it.
func describe(a spool.Attempt) string {
	switch {
	case a.Error != "":
		return a.Error
	case a.Status >= 200 && a.Status < 300:
		return ""
	}
	return "HTTP " + strconv.Itoa(a.Status)
}

// traceID is the trace id of a W3C traceparent, "" when malformed.
func traceID(tp string) string {
	if len(tp) < 35 || tp[2] != '-' {
		return ""
	}
	return tp[3:35]
}
