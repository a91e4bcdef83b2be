package spool

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// jsDest is what this process holds of one destination: per queue class,
// deliveries fetched and ready to lease (kept alive, bounded by
// Prefetch), whether a puller is fetching more, and the leases handed
// out. Guarded by jsSpool.mu, but for cons (cmu).
type jsDest struct {
	dest, tok string
	ready     [2][]*jsLease
	pulling   [2]bool
	held      [2]int    // leases handed out
	resting   bool      // its circuit is open: nothing is fetched ahead
	sweep     time.Time // resting: when Sweep looks at it next (zero: at once)
	woke      bool      // resting: a retry came due during a sweep
	counted   [2]int64  // its consumers' deliveries, as of the last poll
	scheduled int64     // its retries waiting for their time, as last counted
	cond      *sync.Cond

	cmu  sync.Mutex
	cons [2]jetstream.Consumer
}

// jsLease is one delivery fetched by this process: ready, then leased.
type jsLease struct {
	msg      jetstream.Msg
	d        *Delivery // as stored
	q        *jsDest
	cl       int
	deadline time.Time // once leased: the holder's ttl, kept alive until then
	ending   bool      // its result is being written
}

// destLocked returns dest's state, creating it; j.mu is held.
func (j *jsSpool) destLocked(dest string) *jsDest {
	q := j.dests[dest]
	if q == nil {
		q = &jsDest{dest: dest, tok: destToken(dest), cond: sync.NewCond(&j.mu)}
		j.dests[dest] = q
	}
	return q
}

// activateLocked starts q's puller of class cl unless it runs, q rests
// or the spool closes; j.mu is held.
func (j *jsSpool) activateLocked(q *jsDest, cl int) {
	if q.pulling[cl] || q.resting || j.closing.Load() {
		return
	}
	q.pulling[cl] = true
	j.loops.Add(1)
	go j.pull(q, cl)
}

// activate is activateLocked for dest, both classes when cl < 0.
func (j *jsSpool) activate(dest string, cl int) {
	j.mu.Lock()
	defer j.mu.Unlock()
	q := j.destLocked(dest)
	for c := range 2 {
		if cl < 0 || c == cl {
			j.activateLocked(q, c)
		}
	}
}

// pull keeps q's ready deliveries of class cl topped up: a pull request
// waits on the servers (PullWait) and each delivery it brings is made
// ready and announced to the Watch function. Several instances pulling
// from one consumer share its deliveries. It stops when the spool closes,
// q rests, or nothing came for ActiveFor.
func (j *jsSpool) pull(q *jsDest, cl int) {
	defer j.loops.Done()
	last := time.Now()
	for {
		j.mu.Lock()
		for len(q.ready[cl]) > j.o.Prefetch/2 && !q.resting && !j.closing.Load() {
			q.cond.Wait() // refilled from half full: one request brings many
		}
		if q.resting || j.closing.Load() || (len(q.ready[cl]) == 0 && time.Since(last) > j.o.ActiveFor) {
			q.pulling[cl] = false
			j.mu.Unlock()
			return
		}
		room := j.o.Prefetch - len(q.ready[cl])
		j.mu.Unlock()
		n, err := j.pullOnce(q, cl, room)
		if n > 0 {
			last = time.Now()
		}
		if err != nil && !j.closing.Load() {
			j.log.Debug("spool: jetstream: pulling", "destination", q.dest, "err", err)
			select {
			case <-j.run.Done():
			case <-time.After(500 * time.Millisecond):
			}
		}
	}
}

// pullOnce makes one pull request for up to n deliveries of q's class cl.
func (j *jsSpool) pullOnce(q *jsDest, cl, n int) (int, error) {
	c, err := j.consumer(q, cl)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(j.run, j.o.PullWait)
	defer cancel()
	b, err := c.Fetch(n, jetstream.FetchContext(ctx))
	if err != nil {
		q.forget(cl)
		return 0, jsError("fetching", err)
	}
	got := 0
	for m := range b.Messages() {
		d, err := decodeRecord(m.Headers(), m.Data())
		if err != nil {
			j.log.Error("spool: jetstream: dropping a corrupt delivery", "subject", m.Subject(), "err", err)
			m.Term()
			continue
		}
		j.mu.Lock()
		if q.resting || j.closing.Load() {
			j.mu.Unlock()
			m.Nak()
			continue
		}
		q.ready[cl] = append(q.ready[cl], &jsLease{msg: m, d: d, q: q, cl: cl})
		f := j.watch
		j.mu.Unlock()
		got++
		if f != nil {
			f(q.dest, time.Now())
		}
	}
	if err := b.Error(); err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		q.forget(cl)
		return got, jsError("fetching", err)
	}
	return got, nil
}

// Lease implements Spool: ready deliveries, first attempts before
// retries, fetched ahead by dest's pullers (started here if they are not
// running; what they bring is announced to the Watch function). A
// resting destination is fetched from directly: its probe. A process
// keeps its leases alive up to ttl; a lost one's come back after AckWait.
func (j *jsSpool) Lease(dest string, now time.Time, max int, ttl time.Duration) (out []*Delivery, next time.Time, err error) {
	err = j.use(func() error {
		j.mu.Lock()
		q := j.destLocked(dest)
		for cl := range 2 {
			for len(q.ready[cl]) > 0 && len(out) < max {
				l := q.ready[cl][0]
				q.ready[cl][0] = nil
				q.ready[cl] = q.ready[cl][1:]
				out = append(out, j.leaseLocked(l, ttl))
			}
			j.activateLocked(q, cl)
		}
		if len(out) > 0 {
			q.cond.Broadcast()
		}
		resting := q.resting
		j.mu.Unlock()
		if len(out) == 0 && resting {
			for cl := 0; cl < 2 && len(out) < max; cl++ {
				got, err := j.fetchNow(q, cl, max-len(out), ttl)
				if out = append(out, got...); err != nil && len(out) == 0 {
					return err
				}
			}
		}
		next = j.Next(dest, now)
		return nil
	})
	return out, next, err
}

// leaseLocked hands ready l out under a new token until ttl; j.mu is
// held.
func (j *jsSpool) leaseLocked(l *jsLease, ttl time.Duration) *Delivery {
	token := j.leaseSeq.Add(1)
	l.deadline = time.Now().Add(ttl)
	j.leases[token] = l
	l.q.held[l.cl]++
	c := *l.d
	c.lease = token
	return &c
}

// fetchNow leases up to n deliveries of q's class cl without waiting.
func (j *jsSpool) fetchNow(q *jsDest, cl, n int, ttl time.Duration) ([]*Delivery, error) {
	c, err := j.consumer(q, cl)
	if err != nil {
		return nil, err
	}
	b, err := c.FetchNoWait(n)
	if err != nil {
		q.forget(cl)
		return nil, jsError("fetching", err)
	}
	var out []*Delivery
	for m := range b.Messages() {
		d, err := decodeRecord(m.Headers(), m.Data())
		if err != nil {
			m.Term()
			continue
		}
		j.mu.Lock()
		out = append(out, j.leaseLocked(&jsLease{msg: m, d: d, q: q, cl: cl}, ttl))
		j.mu.Unlock()
	}
	return out, b.Error()
}

// consumer returns q's consumer of class cl, creating it (or finding it
// created by another instance) the first time.
func (j *jsSpool) consumer(q *jsDest, cl int) (jetstream.Consumer, error) {
	q.cmu.Lock()
	defer q.cmu.Unlock()
	if c := q.cons[cl]; c != nil {
		return c, nil
	}
	ctx, cancel := j.ctx()
	defer cancel()
	c, err := j.st.CreateOrUpdateConsumer(ctx, j.consumerConfig(q, cl))
	if err != nil {
		return nil, jsError("consumer of "+q.dest, err)
	}
	q.cons[cl] = c
	return c, nil
}

func (j *jsSpool) consumerConfig(q *jsDest, cl int) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       jsClass[cl] + "-" + q.tok,
		Description:   "edgehook: " + q.dest,
		FilterSubject: j.subj.queueFilter(q.tok, cl),
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       j.o.AckWait,
		MaxDeliver:    -1,
		MaxAckPending: 4096,
		MaxWaiting:    4096,
		Metadata:      map[string]string{"dest": q.dest},
	}
}

// forget drops the handle of q's consumer of class cl (it may have been
// removed); the next pull or write creates it again. It reports whether
// there was one.
func (q *jsDest) forget(cl int) bool {
	q.cmu.Lock()
	defer q.cmu.Unlock()
	had := q.cons[cl] != nil
	q.cons[cl] = nil
	return had
}

// keepAlive extends, every third of AckWait, the deliveries this process
// holds ready and its leases until their deadline.
func (j *jsSpool) keepAlive() {
	defer j.loops.Done()
	t := time.NewTicker(j.o.AckWait / 3)
	defer t.Stop()
	for {
		select {
		case <-j.run.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		j.mu.Lock()
		for token, l := range j.leases {
			if now.After(l.deadline) && !l.ending {
				j.log.Warn("spool: jetstream: a lease ran out; the delivery is due again", "delivery", l.d.ID, "destination", l.q.dest)
				delete(j.leases, token)
				l.q.held[l.cl]--
				continue
			}
			l.msg.InProgress()
		}
		for _, q := range j.dests {
			for _, r := range q.ready {
				for _, l := range r {
					l.msg.InProgress()
				}
			}
		}
		j.mu.Unlock()
	}
}

// begin marks d's lease as ending and returns it; ErrLeaseLost when d is
// not leased by this process under its token, or its ttl has passed.
func (j *jsSpool) begin(d *Delivery) (*jsLease, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	l := j.leases[d.lease]
	if l == nil || l.ending || l.d.ID != d.ID || time.Now().After(l.deadline) {
		return nil, ErrLeaseLost
	}
	l.ending = true
	return l, nil
}

// end finishes a lease begun with begin: kept after a failed write,
// removed after a written one.
func (j *jsSpool) end(d *Delivery, l *jsLease, written bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !written {
		l.ending = false
		return
	}
	if j.leases[d.lease] == l {
		delete(j.leases, d.lease)
		l.q.held[l.cl]--
	}
}

// ackMsg acknowledges a leased message; with confirm it waits for the
// servers to confirm it. An acknowledgement lost on the way makes the
// message come back after AckWait, its delivery sent again (at least
// once); it is confirmed where more would be undone than a repeated
// attempt: before a stored body is removed, and for a dead letter.
func (j *jsSpool) ackMsg(l *jsLease, confirm bool) error {
	if !confirm {
		return l.msg.Ack()
	}
	ctx, cancel := j.ctx()
	defer cancel()
	return l.msg.DoubleAck(ctx)
}

// settle acknowledges a leased message whose delivery was written again
// elsewhere (its next state); a failure is logged: the message comes
// back and its next write, with the same message id, is deduplicated.
func (j *jsSpool) settle(l *jsLease, confirm bool) {
	if err := j.ackMsg(l, confirm); err != nil {
		j.log.Warn("spool: jetstream: acknowledging", "delivery", l.d.ID, "err", err)
	}
}

// Ack implements Spool. then is appended, and acknowledged by the
// servers (stored on a quorum of them), before the delivery is
// acknowledged: a crash in between sends the delivery again, and its
// then once more (deduplicated by message id within the window).
func (j *jsSpool) Ack(d *Delivery, a Attempt, then *Batch) error {
	return j.use(func() error {
		l, err := j.begin(d)
		if err != nil {
			return err
		}
		if then != nil {
			if _, err := j.appendBatch(then); err != nil {
				j.end(d, l, false)
				return err
			}
		}
		if err := j.ackMsg(l, l.d.bref != ""); err != nil {
			j.end(d, l, false)
			return jsError("acknowledging", err)
		}
		j.end(d, l, true)
		j.dropBody(l.d)
		return nil
	})
}

// Reschedule implements Spool: the delivery, with its attempt, is
// written again as a scheduled message (or straight to its retry queue
// when due within a second), then the leased one is acknowledged.
func (j *jsSpool) Reschedule(d *Delivery, a Attempt, due time.Time) error {
	return j.use(func() error {
		l, err := j.begin(d)
		if err != nil {
			return err
		}
		next := *l.d
		next.record(a)
		next.Due, next.moves = due, next.moves+1
		if err := j.requeue(&next, next.ID+"."+strconv.Itoa(next.Attempts)); err != nil {
			j.end(d, l, false)
			return err
		}
		j.settle(l, false)
		j.end(d, l, true)
		return nil
	})
}

// requeue writes pending delivery d to its retry queue, scheduled for
// d.Due when that is a second or more away.
func (j *jsSpool) requeue(d *Delivery, msgID string) error {
	if err := j.ensureConsumers([]*Delivery{d}); err != nil {
		return err
	}
	ctx, cancel := j.ctx()
	defer cancel()
	queue := j.subj.queue(destToken(d.Dest), classOf(d), d.ID)
	var err error
	if time.Until(d.Due) < time.Second {
		_, err = j.js.PublishMsg(ctx, j.recordMsg(queue, d, msgID))
	} else {
		// @at has a second's precision: rounded up, never early.
		at := d.Due.Truncate(time.Second)
		if at.Before(d.Due) {
			at = at.Add(time.Second)
		}
		_, err = j.js.PublishMsg(ctx, j.recordMsg(j.subj.sched(destToken(d.Dest), d.ID), d, msgID),
			jetstream.WithScheduleAt(at), jetstream.WithScheduleTarget(queue))
	}
	if err != nil {
		return jsError("rescheduling", err)
	}
	return nil
}

// Dead implements Spool.
func (j *jsSpool) Dead(d *Delivery, a Attempt, status Status, reason string) error {
	if status != StatusDead && status != StatusGone {
		return errors.New("spool: a dead letter is dead or gone")
	}
	return j.use(func() error {
		l, err := j.begin(d)
		if err != nil {
			return err
		}
		next := *l.d
		next.Due = time.Now()
		if !a.At.IsZero() {
			next.record(a)
			next.Due = a.At.Add(a.Duration)
		}
		next.Status, next.Reason, next.moves = status, reason, next.moves+1
		ctx, cancel := j.ctx()
		defer cancel()
		m := j.recordMsg(j.subj.dead(envToken(next.Env), next.ID), &next, next.ID+".dead."+strconv.Itoa(next.Attempts))
		if _, err := j.js.PublishMsg(ctx, m); err != nil {
			j.end(d, l, false)
			return jsError("dead-lettering", err)
		}
		j.settle(l, true)
		j.end(d, l, true)
		return nil
	})
}

// Release implements Spool: the message goes back to its consumer, due
// again at once or after the delay.
func (j *jsSpool) Release(d *Delivery, due time.Time) error {
	return j.use(func() error {
		l, err := j.begin(d)
		if err != nil {
			return err
		}
		now := time.Now()
		if due.After(now) {
			err = l.msg.NakWithDelay(due.Sub(now))
		} else {
			err = l.msg.Nak()
			due = now
		}
		if err != nil {
			j.end(d, l, false)
			return jsError("releasing", err)
		}
		j.end(d, l, true)
		j.activate(d.Dest, l.cl)
		return nil
	})
}

// dropBody ends finished delivery d's claim on its stored body: a body
// only d needed is removed, a shared one when its count reaches zero.
func (j *jsSpool) dropBody(d *Delivery) {
	if d.bref == "" {
		return
	}
	ctx, cancel := j.ctx()
	defer cancel()
	if d.refs > 1 {
		m := nats.NewMsg(j.subj.refs(d.bref))
		m.Header.Set("Nats-Incr", "-1")
		m.Header.Set(jetstream.MsgIDHeader, d.bref+"."+d.ID)
		ack, err := j.js.PublishMsg(ctx, m)
		if err != nil {
			j.log.Warn("spool: jetstream: counting down a shared body", "body", d.bref, "err", err)
			return
		}
		if ack.Duplicate || ack.Value != "0" {
			return
		}
		if err := j.refs.Purge(ctx, jetstream.WithPurgeSubject(j.subj.refs(d.bref))); err != nil {
			j.log.Warn("spool: jetstream: removing a body's count", "body", d.bref, "err", err)
		}
	}
	if err := j.st.Purge(ctx, jetstream.WithPurgeSubject(j.subj.bodyAll(d.bref))); err != nil {
		j.log.Warn("spool: jetstream: removing a body", "body", d.bref, "err", err)
	}
}

// Next implements Spool: now when deliveries of dest are ready here,
// else zero (what the pullers bring is announced to the Watch function).
func (j *jsSpool) Next(dest string, now time.Time) time.Time {
	j.mu.Lock()
	defer j.mu.Unlock()
	if q := j.dests[dest]; q != nil && len(q.ready[0])+len(q.ready[1]) > 0 {
		return now
	}
	return time.Time{}
}

// Destinations implements Spool.
func (j *jsSpool) Destinations(now time.Time) []DestDue {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []DestDue
	for _, q := range j.dests {
		if len(q.ready[0])+len(q.ready[1]) > 0 {
			out = append(out, DestDue{Dest: q.dest, Due: now})
		}
	}
	return out
}

// Rest implements Spool: a resting destination's ready deliveries are
// handed back to the stream (another instance may take them) and
// nothing more is fetched ahead; its probes fetch directly.
func (j *jsSpool) Rest(dest string, resting bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	q := j.dests[dest]
	if q == nil && !resting {
		return
	}
	if q == nil {
		q = j.destLocked(dest) // kept while it rests: Sweep visits it
	}
	if q.resting == resting {
		return
	}
	q.resting, q.sweep = resting, time.Time{}
	if resting {
		for cl := range q.ready {
			for _, l := range q.ready[cl] {
				l.msg.Nak()
			}
			q.ready[cl] = nil
		}
		q.cond.Broadcast()
		return
	}
	j.activateLocked(q, 0)
	j.activateLocked(q, 1)
}

// Watch implements Spool: f hears of every delivery made ready here.
// Pullers run for the destinations this process hears have due work:
// from the headers the stream republishes for every due delivery (any
// instance's append, a scheduled retry coming due), from its consumers'
// counts (Poll), and from its own leases.
func (j *jsSpool) Watch(f func(dest string, due time.Time)) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.watch = f
	if j.wake != nil || f == nil {
		return
	}
	sub, err := j.nc.Subscribe(j.subj.p+".w.>", j.onWake)
	if err != nil {
		j.log.Error("spool: jetstream: subscribing to due work", "err", err)
		return
	}
	sub.SetPendingLimits(-1, 64<<20)
	j.wake = sub
}

// onWake starts the puller of a delivery's destination and class, from
// its republished headers (subject p.w.<dest>.<class>.<id>).
func (j *jsSpool) onWake(m *nats.Msg) {
	dest := m.Header.Get(jsHdrDest)
	parts := strings.Split(m.Subject, ".")
	if dest == "" || len(parts) != 5 {
		return
	}
	cl := strings.Index("fr", parts[3])
	j.mu.Lock()
	if q := j.dests[dest]; q != nil && q.resting {
		q.sweep, q.woke = time.Time{}, true // a retry came due: it may have run out already
	}
	j.mu.Unlock()
	j.activate(dest, cl)
}
