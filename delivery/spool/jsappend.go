package spool

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Append implements Spool. Every write is acknowledged by the stream (a
// quorum of its replicas, each syncing it when the servers run with
// sync_interval: always) before Append returns.
//
// The order makes a failure cost duplicates, never a loss: the bodies
// first, then the deliveries and the dedupe record (pipelined on one
// connection, so the stream stores them in that order). A delivery is
// published with its id as message id, so a delivery appended twice
// within the stream's duplicate window (two instances given the same
// provider delivery, or a retried write) is stored once; the dedupe
// record is created only where none is live, and removed again when a
// delivery of its batch failed, so the provider's retry is not taken for
// a duplicate.
func (j *jsSpool) Append(b *Batch) (res AppendResult, err error) {
	err = j.use(func() error {
		if err := j.admit(b); err != nil {
			return err
		}
		res, err = j.appendBatch(b)
		return err
	})
	return res, err
}

// appendBatch is Append without the budgets (what follows an Ack is
// stored however full the spool is, as in the embedded store); the
// caller holds closeMu for reading.
func (j *jsSpool) appendBatch(b *Batch) (AppendResult, error) {
	ctx, cancel := j.ctx()
	defer cancel()
	var prior uint64 // an expired dedupe record the new one replaces
	if b.Dedupe != nil {
		first, live, seq, err := j.liveDedupe(ctx, b.Dedupe)
		if err != nil || live {
			return AppendResult{Duplicate: live, FirstID: first}, err
		}
		prior = seq
	}
	if len(b.Deliveries) == 0 && b.Dedupe == nil {
		return AppendResult{}, nil
	}
	if err := j.ensureConsumers(b.Deliveries); err != nil {
		return AppendResult{}, err
	}
	ds, bodies, err := j.prepare(b)
	if err != nil {
		return AppendResult{}, err
	}
	if err := j.publishAll(ctx, bodies); err != nil {
		return AppendResult{}, err
	}
	return j.publishDeliveries(ctx, ds, b.Dedupe, prior)
}

// admit refuses b when the budgets, as read at the last poll, would be
// exceeded.
func (j *jsSpool) admit(b *Batch) error {
	st := j.stats.Load()
	var n int64
	for _, body := range b.Bodies {
		n += int64(len(body.Header) + len(body.Payload))
	}
	if st.Pending+int64(len(b.Deliveries)) > j.o.MaxPending || (j.o.MaxBytes > 0 && st.Bytes+n > j.o.MaxBytes) {
		return ErrOverloaded
	}
	return nil
}

// prepare returns copies of b's deliveries as stored (each carrying its
// body inline when it is the body's only delivery and small enough, else
// naming it) and the body messages to publish first.
func (j *jsSpool) prepare(b *Batch) ([]*Delivery, []*nats.Msg, error) {
	refs := make([]int, len(b.Bodies))
	names := make([]string, len(b.Bodies)) // a stored body's name: the id of its first delivery
	for _, d := range b.Deliveries {
		if d.Part < 0 || d.Part >= len(refs) {
			return nil, nil, errBadPart
		}
		if !validToken(d.ID) {
			return nil, nil, fmt.Errorf("spool: jetstream: delivery id %q is not a subject token", d.ID)
		}
		if refs[d.Part]++; names[d.Part] == "" {
			names[d.Part] = d.ID
		}
	}
	var msgs []*nats.Msg
	inline := make([][]byte, len(b.Bodies))
	for part, in := range b.Bodies {
		switch {
		case refs[part] == 0:
		case refs[part] == 1 && len(in.Payload) <= j.o.InlineBody:
			inline[part] = appendBodyValue(nil, in.Header, in.Payload, false)
		default:
			msgs = append(msgs, j.bodyMsgs(names[part], in)...)
			if refs[part] > 1 {
				m := nats.NewMsg(j.subj.refs(names[part]))
				m.Header.Set("Nats-Incr", "+"+strconv.Itoa(refs[part]))
				m.Header.Set(jetstream.MsgIDHeader, names[part])
				msgs = append(msgs, m)
			}
		}
	}
	ds := make([]*Delivery, len(b.Deliveries))
	for i, in := range b.Deliveries {
		d := *in
		d.refs, d.bsize, d.moves, d.Status, d.lease = refs[d.Part], int64(len(b.Bodies[d.Part].Payload)), 0, StatusPending, 0
		d.History = nil
		if d.inline = inline[d.Part]; d.inline == nil {
			d.bref = names[d.Part]
		}
		ds[i] = &d
	}
	return ds, msgs, nil
}

// Body pieces: the first carries a version, the pass-through headers,
// the payload's length and the number of pieces, then its part of the
// payload; the others only theirs.
const jsBodyVersion = 1

// bodyMsgs returns the messages storing body in as name.
func (j *jsSpool) bodyMsgs(name string, in BodyIn) []*nats.Msg {
	n := max(1, (len(in.Payload)+j.o.ChunkSize-1)/j.o.ChunkSize)
	msgs := make([]*nats.Msg, n)
	for i := range n {
		m := nats.NewMsg(j.subj.body(name, i))
		m.Header.Set(jetstream.MsgIDHeader, name+"."+strconv.Itoa(i))
		piece := in.Payload[i*j.o.ChunkSize : min(len(in.Payload), (i+1)*j.o.ChunkSize)]
		if i == 0 {
			m.Data = append(m.Data, jsBodyVersion)
			m.Data = appendBytes(m.Data, in.Header)
			m.Data = binary.AppendUvarint(m.Data, uint64(len(in.Payload)))
			m.Data = binary.AppendUvarint(m.Data, uint64(n))
		}
		m.Data = append(m.Data, piece...)
		msgs[i] = m
	}
	return msgs
}

// publishAll publishes msgs (to either stream) and waits for every
// acknowledgement.
func (j *jsSpool) publishAll(ctx context.Context, msgs []*nats.Msg) error {
	futs := make([]jetstream.PubAckFuture, 0, len(msgs))
	for _, m := range msgs {
		f, err := j.js.PublishMsgAsync(m)
		if err != nil {
			return jsError("storing a body", err)
		}
		futs = append(futs, f)
	}
	for _, f := range futs {
		if _, err := waitAck(ctx, f); err != nil {
			return jsError("storing a body", err)
		}
	}
	return nil
}

// publishDeliveries publishes ds, then the dedupe record dd (replacing
// the expired record at sequence prior, if any), and waits for their
// acknowledgements.
func (j *jsSpool) publishDeliveries(ctx context.Context, ds []*Delivery, dd *Dedupe, prior uint64) (AppendResult, error) {
	futs := make([]jetstream.PubAckFuture, 0, len(ds))
	var failed error
	for _, d := range ds {
		f, err := j.js.PublishMsgAsync(j.recordMsg(j.subj.queue(destToken(d.Dest), classOf(d), d.ID), d, d.ID))
		if err != nil {
			failed = err
			break
		}
		futs = append(futs, f)
	}
	var df jetstream.PubAckFuture
	if dd != nil && failed == nil {
		m := nats.NewMsg(j.subj.dedupe(dedupeToken(dd)))
		m.Data = binary.BigEndian.AppendUint64(nil, uint64(dd.Expires.UnixNano()))
		m.Data = append(m.Data, dd.EventID...)
		ttl := max(time.Second, dd.Expires.Sub(dd.Now)).Round(time.Second)
		var err error
		if df, err = j.js.PublishMsgAsync(m, jetstream.WithExpectLastSequencePerSubject(prior), jetstream.WithMsgTTL(ttl)); err != nil {
			failed = err
		}
	}
	for _, f := range futs {
		if _, err := j.waitStored(ctx, f); err != nil && failed == nil {
			failed = err
		}
	}
	if df == nil {
		if failed != nil {
			return AppendResult{}, jsError("storing a delivery", failed)
		}
		return AppendResult{}, nil
	}
	ack, derr := waitAck(ctx, df)
	switch {
	case failed != nil:
		if derr == nil { // so that the provider's retry is not a duplicate
			dctx, cancel := j.ctx()
			defer cancel()
			if err := j.st.DeleteMsg(dctx, ack.Sequence); err != nil {
				j.log.Error("spool: jetstream: removing the dedupe record of a failed append", "event", dd.EventID, "err", err)
			}
		}
		return AppendResult{}, jsError("storing a delivery", failed)
	case isWrongLastSeq(derr): // another instance recorded the same key meanwhile
		first, live, _, err := j.liveDedupe(ctx, dd)
		if err != nil {
			return AppendResult{}, err
		}
		if live {
			return AppendResult{Duplicate: true, FirstID: first}, nil
		}
		return AppendResult{}, nil
	case derr != nil:
		return AppendResult{}, jsError("storing the dedupe record", derr)
	}
	return AppendResult{}, nil
}

// waitStored waits for the acknowledgement of a delivery published
// with its id as message id. While another writer's publish of the same
// id is still being replicated, the stream refuses this one as "in
// process": it is published again until the stream says it is stored,
// or a duplicate of what the other stored.
func (j *jsSpool) waitStored(ctx context.Context, f jetstream.PubAckFuture) (*jetstream.PubAck, error) {
	ack, err := waitAck(ctx, f)
	for try := 0; isInProcess(err) && try < 50; try++ {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		ack, err = j.js.PublishMsg(ctx, f.Msg())
	}
	return ack, err
}

// isInProcess reports the stream's refusal of a message whose id another
// publish is storing at that moment.
func isInProcess(err error) bool {
	return apiCode(err) == jsErrCodeMsgIDInProcess
}

// jsErrCodeMsgIDInProcess: "duplicate message id is in process".
const jsErrCodeMsgIDInProcess = 10158

// apiCode returns the JetStream error code of err, 0 when none.
func apiCode(err error) jetstream.ErrorCode {
	var jerr jetstream.JetStreamError
	if !errors.As(err, &jerr) || jerr.APIError() == nil {
		return 0
	}
	return jerr.APIError().ErrorCode
}

// liveDedupe returns the first event id of dd's key if its record has
// not expired at dd.Now; seq is the sequence of an expired record still
// stored (0 when none).
func (j *jsSpool) liveDedupe(ctx context.Context, dd *Dedupe) (first string, live bool, seq uint64, err error) {
	m, err := j.st.GetLastMsgForSubject(ctx, j.subj.dedupe(dedupeToken(dd)))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return "", false, 0, nil
	}
	if err != nil {
		return "", false, 0, jsError("reading a dedupe record", err)
	}
	if len(m.Data) < 8 {
		return "", false, m.Sequence, nil
	}
	if int64(binary.BigEndian.Uint64(m.Data)) <= dd.Now.UnixNano() {
		return "", false, m.Sequence, nil
	}
	return string(m.Data[8:]), true, 0, nil
}

// Dedupe implements Spool.
func (j *jsSpool) Dedupe(env, integ, key string, now time.Time) (id string, ok bool, err error) {
	err = j.use(func() error {
		ctx, cancel := j.ctx()
		defer cancel()
		id, ok, _, err = j.liveDedupe(ctx, &Dedupe{Env: env, Integration: integ, Key: key, Now: now})
		return err
	})
	return id, ok, err
}

// waitAck waits for a publish acknowledgement.
func waitAck(ctx context.Context, f jetstream.PubAckFuture) (*jetstream.PubAck, error) {
	select {
	case ack := <-f.Ok():
		return ack, nil
	case err := <-f.Err():
		return nil, err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// isWrongLastSeq reports a failed create-only write: the subject holds a
// record already.
func isWrongLastSeq(err error) bool {
	c := apiCode(err)
	return c == jetstream.JSErrCodeStreamWrongLastSequence || c == jetstream.JSErrCodeStreamWrongLastSequenceConstant
}

// recordMsg returns the message storing delivery d on subject, with
// message id msgID ("" for none).
func (j *jsSpool) recordMsg(subject string, d *Delivery, msgID string) *nats.Msg {
	m := nats.NewMsg(subject)
	m.Header.Set(jsHdrDest, d.Dest)
	if d.bref != "" {
		m.Header.Set(jsHdrBody, d.bref)
	}
	if msgID != "" {
		m.Header.Set(jetstream.MsgIDHeader, msgID)
	}
	m.Data = appendDelivery(nil, d)
	return m
}

// decodeRecord decodes a delivery stored by recordMsg.
func decodeRecord(h nats.Header, data []byte) (*Delivery, error) {
	d, err := decodeDelivery(data)
	if err != nil {
		return nil, err
	}
	d.bref = h.Get(jsHdrBody)
	d.lease = 0
	return d, nil
}

// ensureConsumers makes sure the consumer of each delivery's destination
// and class exists before the delivery is written: a delivering instance
// that starts later finds the destination's work by listing the
// consumers (poll), even when no instance heard of it when it was
// written (an ingest tier running while the delivery tier is down). A
// handle once made is cached until a poll no longer lists it.
func (j *jsSpool) ensureConsumers(ds []*Delivery) error {
	for i, d := range ds {
		if i > 0 && d.Dest == ds[i-1].Dest && classOf(d) == classOf(ds[i-1]) {
			continue
		}
		j.mu.Lock()
		q := j.destLocked(d.Dest)
		j.mu.Unlock()
		if _, err := j.consumer(q, classOf(d)); err != nil {
			return err
		}
	}
	return nil
}
