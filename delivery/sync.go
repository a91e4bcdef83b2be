package delivery

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/edgehook/edgehook/delivery/spool"
	"github.com/edgehook/edgehook/internal/jsonx"
)

// ReasonInvalidRunnerReply is the dead-letter reason of a runner delivery
// whose runner answered 2xx with a body that is not
// {"added":N,"updated":N,"deleted":N} (SPEC §8).
const ReasonInvalidRunnerReply = "invalid_runner_reply"

// counts are the record changes a webhook-enabled sync's runner reports.
type counts struct {
	Added, Updated, Deleted uint64
}

// zero reports whether nothing changed.
func (c counts) zero() bool { return c.Added == 0 && c.Updated == 0 && c.Deleted == 0 }

// parseRunnerReply decodes a runner's 2xx reply body: one JSON object with
// "added", "updated" and "deleted", each a non-negative integer written
// without fraction or exponent; other fields are ignored.
func parseRunnerReply(b []byte) (counts, error) {
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&fields); err != nil || fields == nil {
		return counts{}, errors.New(`runner reply: want a JSON object {"added":N,"updated":N,"deleted":N}`)
	}
	if _, err := dec.Token(); err != io.EOF {
		return counts{}, errors.New("runner reply: data after the JSON object")
	}
	var c counts
	for _, f := range [...]struct {
		name string
		n    *uint64
	}{{"added", &c.Added}, {"updated", &c.Updated}, {"deleted", &c.Deleted}} {
		raw, ok := fields[f.name]
		if !ok {
			return counts{}, fmt.Errorf("runner reply: %q is missing", f.name)
		}
		n, err := strconv.ParseUint(string(raw), 10, 63)
		if err != nil {
			return counts{}, fmt.Errorf("runner reply: %q is %s, want a non-negative integer", f.name, clip(raw))
		}
		*f.n = n
	}
	return c, nil
}

// clip shortens a reply value for an error message.
func clip(b []byte) string {
	if len(b) > 32 {
		return string(b[:32]) + "…"
	}
	return string(b)
}

// modifiedAfterLayout formats a sync webhook's modifiedAfter: RFC 3339 in
// UTC with milliseconds.
const modifiedAfterLayout = "2006-01-02T15:04:05.000Z07:00"

// appendSyncWebhook appends the sync webhook the app gets when a runner
// reports changes for sync syncName (model) of connection connID of
// integration integ, from an event received at received (SPEC §8).
func appendSyncWebhook(dst []byte, integ, connID, syncName, model string, c counts, received time.Time) []byte {
	dst = append(dst, `{"from":"nango","type":"sync","connectionId":`...)
	dst = jsonx.AppendString(dst, connID)
	dst = append(dst, `,"providerConfigKey":`...)
	dst = jsonx.AppendString(dst, integ)
	dst = append(dst, `,"syncName":`...)
	dst = jsonx.AppendString(dst, syncName)
	dst = append(dst, `,"model":`...)
	dst = jsonx.AppendString(dst, model)
	dst = append(dst, `,"syncType":"WEBHOOK","success":true,"responseResults":{"added":`...)
	dst = strconv.AppendUint(dst, c.Added, 10)
	dst = append(dst, `,"updated":`...)
	dst = strconv.AppendUint(dst, c.Updated, 10)
	dst = append(dst, `,"deleted":`...)
	dst = strconv.AppendUint(dst, c.Deleted, 10)
	dst = append(dst, `},"modifiedAfter":"`...)
	dst = received.UTC().AppendFormat(dst, modifiedAfterLayout)
	return append(dst, `"}`...)
}

// ackRunner completes runner delivery d, answered 2xx with reply at
// attempt a. counts above zero make a sync webhook to each of apps,
// appended in the write that acks d; zero counts send nothing; a reply
// that is not the counts dead-letters d (ReasonInvalidRunnerReply, the
// detail in a.Error). It returns the state d is left in.
func (s *Service) ackRunner(d *spool.Delivery, a *spool.Attempt, reply []byte, apps []string) (string, error) {
	c, err := parseRunnerReply(reply)
	if err != nil {
		a.Error = err.Error()
		return outcomeDead, s.spool.Dead(d, *a, spool.StatusDead, ReasonInvalidRunnerReply)
	}
	if c.zero() || len(apps) == 0 {
		return outcomeDelivered, s.spool.Ack(d, *a, nil)
	}
	b := s.syncBatch(d, c, apps)
	if len(b.Deliveries) == 0 {
		return outcomeDelivered, s.spool.Ack(d, *a, nil)
	}
	if err := s.spool.Ack(d, *a, b); err != nil {
		return outcomeDelivered, err
	}
	for _, sd := range b.Deliveries {
		s.sched.Notify(sd.Dest, sd.Due)
	}
	s.log.Debug("delivery: sync webhook from a runner's reply", "delivery", d.ID, "env", d.Env,
		"integration", d.Integration, "sync", d.SyncName, "added", c.Added, "updated", c.Updated, "deleted", c.Deleted)
	return outcomeDelivered, nil
}

// syncBatch is the sync webhook runner delivery d's counts c make: one
// body, one delivery per app URL. A delivery's id derives from d's and
// its URL, so the same reply never makes two different webhook-ids.
func (s *Service) syncBatch(d *spool.Delivery, c counts, apps []string) *spool.Batch {
	now := s.opts.Now()
	body := appendSyncWebhook(nil, d.Integration, d.ConnectionID, d.SyncName, d.Model, c, d.Received)
	b := &spool.Batch{EventID: newEventID(now), Bodies: []spool.BodyIn{{Payload: body}}}
	for _, u := range apps {
		dest, err := s.dests.get(u)
		if err != nil {
			s.log.Error("delivery: a sync webhook URL is unusable", "env", d.Env, "url", u, "err", err)
			continue
		}
		b.Deliveries = append(b.Deliveries, &spool.Delivery{
			ID: syncDeliveryID(d.ID, u), EventID: b.EventID, Kind: spool.KindSync, Env: d.Env,
			Integration: d.Integration, Provider: d.Provider, ConnectionID: d.ConnectionID,
			SyncName: d.SyncName, Model: d.Model, URL: u, Dest: dest, TraceParent: d.TraceParent,
			Received: d.Received, Created: now, Due: now, Expires: now.Add(s.span),
		})
	}
	return b
}

// syncDeliveryID is the id of the sync webhook to url made from runner
// delivery runnerID.
func syncDeliveryID(runnerID, url string) string {
	h := sha256.New()
	h.Write([]byte("sync\x00"))
	h.Write([]byte(runnerID))
	h.Write([]byte{0})
	h.Write([]byte(url))
	return idEncoding.EncodeToString(h.Sum(nil)[:16])
}
