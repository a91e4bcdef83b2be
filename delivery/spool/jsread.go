package spool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Body implements Spool: an inline body comes from the record; a stored
// one is read piece by piece, the first at once, the others as the body
// is read.
func (j *jsSpool) Body(d *Delivery) (b *Body, err error) {
	if d.inline != nil {
		return decodeBody(d.inline, nil, "")
	}
	if d.bref == "" {
		return nil, fmt.Errorf("spool: body of %s: %w", d.ID, ErrNotFound)
	}
	err = j.use(func() error {
		data, err := j.bodyPiece(d.bref, 0)
		if err != nil {
			return fmt.Errorf("spool: body of %s: %w", d.ID, err)
		}
		r := reader{b: data}
		if len(data) == 0 || data[0] != jsBodyVersion {
			return errCorrupt
		}
		r.b = r.b[1:]
		header := r.field()
		size, pieces := r.uvarint(), int(r.uvarint())
		if r.bad || pieces < 1 {
			return errCorrupt
		}
		b = &Body{Header: append([]byte(nil), header...), size: int64(size)}
		if pieces == 1 {
			b.payload = append([]byte{}, r.b...)
			return nil
		}
		first, bref := r.b, d.bref
		b.open = func() (io.ReadCloser, error) {
			return &jsBodyReader{j: j, bref: bref, buf: first, next: 1, n: pieces}, nil
		}
		return nil
	})
	return b, err
}

// bodyPiece reads piece n of stored body bref. A replica may not have a
// body just written yet: it is asked again, briefly.
func (j *jsSpool) bodyPiece(bref string, n int) ([]byte, error) {
	ctx, cancel := j.ctx()
	defer cancel()
	for try := 0; ; try++ {
		m, err := j.st.GetLastMsgForSubject(ctx, j.subj.body(bref, n))
		if err == nil {
			return m.Data, nil
		}
		if !errors.Is(err, jetstream.ErrMsgNotFound) || try == 3 {
			return nil, jsError("reading body "+bref+" piece "+strconv.Itoa(n), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// jsBodyReader reads a stored body's pieces in turn.
type jsBodyReader struct {
	j       *jsSpool
	bref    string
	buf     []byte
	next, n int
}

func (r *jsBodyReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.next >= r.n {
			return 0, io.EOF
		}
		data, err := r.j.bodyPiece(r.bref, r.next)
		if err != nil {
			return 0, err
		}
		r.buf, r.next = data, r.next+1
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

func (r *jsBodyReader) Close() error { return nil }

// Get implements Spool: a due delivery, a scheduled one, or a dead
// letter, looked up by the subjects that end in its id. Where two are
// found (a delivery just written again, its earlier message not yet
// removed), the later version counts.
func (j *jsSpool) Get(env, id string) (d *Delivery, err error) {
	if !validToken(id) {
		return nil, ErrNotFound
	}
	err = j.use(func() error {
		ctx, cancel := j.ctx()
		defer cancel()
		for _, look := range [...]struct {
			subject string
			next    bool
		}{{j.subj.queued(id), true}, {j.subj.schedOf(id), true}, {j.subj.dead(envToken(env), id), false}} {
			m, err := j.leaderGet(ctx, look.subject, look.next)
			if errors.Is(err, jetstream.ErrMsgNotFound) {
				continue
			}
			if err != nil {
				return jsError("reading a delivery", err)
			}
			found, err := decodeRecord(m.Header, m.Data)
			if err != nil {
				return err
			}
			if d == nil || found.moves > d.moves {
				d = found
			}
		}
		if d == nil || d.Env != env {
			d = nil
			return ErrNotFound
		}
		return nil
	})
	return d, err
}

// List implements Spool: dead letters from their environment's
// subjects, pending deliveries from every queue and schedule (pending
// deliveries are not kept by environment), in the order written. It
// reads from any replica, which may lag the last writes by milliseconds.
func (j *jsSpool) List(env string, status Status, after string, limit int) (out []*Delivery, err error) {
	filter := j.subj.p + ".>"
	if status != StatusPending {
		filter = j.subj.deadFilter(envToken(env))
	}
	err = j.use(func() error {
		var start uint64
		if after != "" {
			if start, err = j.seqOf(env, after, status); err != nil {
				return err
			}
		}
		return j.scan(filter, start, func(subject string, m *nats.Msg) bool {
			if status == StatusPending && !j.subj.pending(subject) {
				return true
			}
			d, err := decodeRecord(m.Header, m.Data)
			if err == nil && d.Env == env {
				out = append(out, d)
			}
			return len(out) < limit
		})
	})
	return out, err
}

// seqOf returns the stream sequence after delivery id's message.
func (j *jsSpool) seqOf(env, id string, status Status) (uint64, error) {
	ctx, cancel := j.ctx()
	defer cancel()
	var m *jetstream.RawStreamMsg
	var err error
	if status == StatusPending {
		if m, err = j.leaderGet(ctx, j.subj.queued(id), true); errors.Is(err, jetstream.ErrMsgNotFound) {
			m, err = j.leaderGet(ctx, j.subj.schedOf(id), true)
		}
	} else {
		m, err = j.leaderGet(ctx, j.subj.dead(envToken(env), id), false)
	}
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, jsError("reading a delivery", err)
	}
	return m.Sequence + 1, nil
}

// leaderGet reads from the stream's leader, which has every
// acknowledged write, the message on subject: the last one, or with
// next, the first one matching a wildcard subject.
func (j *jsSpool) leaderGet(ctx context.Context, subject string, next bool) (*jetstream.RawStreamMsg, error) {
	var req struct {
		Seq     uint64 `json:"seq,omitempty"`
		LastFor string `json:"last_by_subj,omitempty"`
		NextFor string `json:"next_by_subj,omitempty"`
	}
	if next {
		req.Seq, req.NextFor = 1, subject
	} else {
		req.LastFor = subject
	}
	b, _ := json.Marshal(req)
	r, err := j.nc.RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET."+j.o.Stream, b)
	if err != nil {
		return nil, err
	}
	var resp struct {
		Error   *jetstream.APIError `json:"error"`
		Message *struct {
			Subject  string    `json:"subject"`
			Sequence uint64    `json:"seq"`
			Header   []byte    `json:"hdrs"`
			Data     []byte    `json:"data"`
			Time     time.Time `json:"time"`
		} `json:"message"`
	}
	if err := json.Unmarshal(r.Data, &resp); err != nil {
		return nil, err
	}
	if resp.Error != nil {
		if resp.Error.ErrorCode == jetstream.JSErrCodeMessageNotFound {
			return nil, jetstream.ErrMsgNotFound
		}
		return nil, resp.Error
	}
	if resp.Message == nil {
		return nil, jetstream.ErrMsgNotFound
	}
	m := &jetstream.RawStreamMsg{Subject: resp.Message.Subject, Sequence: resp.Message.Sequence,
		Data: resp.Message.Data, Time: resp.Message.Time}
	if len(resp.Message.Header) > 0 {
		if m.Header, err = nats.DecodeHeadersMsg(resp.Message.Header); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// jsScanBatch is how many messages one request of a scan returns.
const jsScanBatch = 256

// scan passes the stream's messages on filter, from sequence start, to
// f until it returns false or none are left, jsScanBatch a request
// (batched direct gets: a work-queue stream allows no consumer that
// overlaps the destinations').
func (j *jsSpool) scan(filter string, start uint64, f func(subject string, m *nats.Msg) bool) error {
	ctx, cancel := context.WithTimeout(j.run, 4*j.o.Timeout)
	defer cancel()
	seq := max(start, 1)
	for {
		msgs, err := j.directBatch(ctx, filter, seq, jsScanBatch)
		if err != nil {
			return jsError("listing", err)
		}
		for _, m := range msgs {
			s, err := strconv.ParseUint(m.Header.Get(jetstream.SequenceHeader), 10, 64)
			if err != nil {
				return jsError("listing", err)
			}
			seq = s + 1
			if !f(m.Header.Get(jetstream.SubjectHeader), m) {
				return nil
			}
		}
		if len(msgs) < jsScanBatch {
			return nil
		}
	}
}

// directBatch asks a replica for up to n messages on filter from
// sequence seq, in one request.
func (j *jsSpool) directBatch(ctx context.Context, filter string, seq uint64, n int) ([]*nats.Msg, error) {
	inbox := j.nc.NewInbox()
	ch := make(chan *nats.Msg, n+1)
	sub, err := j.nc.ChanSubscribe(inbox, ch)
	if err != nil {
		return nil, err
	}
	defer sub.Unsubscribe()
	req, _ := json.Marshal(struct {
		Seq     uint64 `json:"seq"`
		NextFor string `json:"next_by_subj"`
		Batch   int    `json:"batch"`
	}{seq, filter, n})
	if err := j.nc.PublishRequest("$JS.API.DIRECT.GET."+j.o.Stream, inbox, req); err != nil {
		return nil, err
	}
	var out []*nats.Msg
	for {
		select {
		case m := <-ch:
			switch status := m.Header.Get("Status"); status {
			case "":
				out = append(out, m)
			case "204", "404": // end of the batch; nothing (more) there
				return out, nil
			default:
				return out, fmt.Errorf("direct get: %s %s", status, m.Header.Get("Description"))
			}
		case <-ctx.Done():
			return out, ctx.Err()
		}
	}
}

// Redrive implements Spool: the dead letter is written to its queue as a
// pending delivery, then removed.
func (j *jsSpool) Redrive(env, id string, now, expires time.Time) (out *Delivery, err error) {
	if !validToken(id) {
		return nil, ErrNotFound
	}
	err = j.use(func() error {
		ctx, cancel := j.ctx()
		defer cancel()
		m, err := j.leaderGet(ctx, j.subj.dead(envToken(env), id), false)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return jsError("reading a dead letter", err)
		}
		d, err := decodeRecord(m.Header, m.Data)
		if err != nil {
			return err
		}
		if d.Env != env {
			return ErrNotFound
		}
		next := *d
		next.Status, next.Reason, next.Base, next.Due, next.Expires = StatusPending, "", d.Attempts, now, expires
		next.moves++
		if err := j.requeue(&next, id+".redrive."+strconv.FormatUint(m.Sequence, 10)); err != nil {
			return err
		}
		if err := j.st.DeleteMsg(ctx, m.Sequence); err != nil {
			j.log.Warn("spool: jetstream: removing a redriven dead letter", "delivery", id, "err", err)
		}
		c := next
		out = &c
		return nil
	})
	return out, err
}

// Expire implements Spool: dedupe records expire on the servers (their
// TTL); dead letters older than deadBefore are removed, oldest first,
// each with its claim on its body. Instances expiring at once remove each
// letter once: only the one whose removal succeeded drops the body.
func (j *jsSpool) Expire(now, deadBefore time.Time, max int) (n int, err error) {
	if deadBefore.IsZero() {
		return 0, nil
	}
	err = j.use(func() error {
		var old []*nats.Msg
		err := j.scan(j.subj.p+".x.>", 0, func(_ string, m *nats.Msg) bool {
			d, err := decodeRecord(m.Header, m.Data)
			if err == nil && !d.Due.Before(deadBefore) {
				return false // written in order of death: the rest are younger
			}
			old = append(old, m)
			return len(old) < max
		})
		if err != nil {
			return err
		}
		ctx, cancel := j.ctx()
		defer cancel()
		for _, m := range old {
			seq, _ := strconv.ParseUint(m.Header.Get(jetstream.SequenceHeader), 10, 64)
			if err := j.st.DeleteMsg(ctx, seq); err != nil {
				continue // removed by another instance
			}
			n++
			if d, err := decodeRecord(m.Header, m.Data); err == nil {
				j.dropBody(d)
			}
		}
		return nil
	})
	return n, err
}
