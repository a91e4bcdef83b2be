package spool

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// pollLoop polls every Options.Poll.
func (j *jsSpool) pollLoop() {
	defer j.loops.Done()
	t := time.NewTicker(j.o.Poll)
	defer t.Stop()
	for {
		select {
		case <-j.run.Done():
			return
		case <-t.C:
		}
		j.poll()
	}
}

// poll lists the stream's consumers. A destination whose consumer has
// deliveries not yet fetched, or more of them out than this process
// holds (another instance's, or a lost one's coming back), gets a puller
// here: the safety net for work no republished message announced. The
// counts make Stats; a destination consumer idle for IdleConsumer is
// removed.
func (j *jsSpool) poll() {
	ctx, cancel := j.ctx()
	defer cancel()
	now := time.Now()
	st := &Stats{}
	seen := map[*jsDest][2]bool{} // the classes whose consumers are listed
	scheduled := int64(-1)        // retries waiting for their time; -1: not listed
	lister := j.st.ListConsumers(ctx)
	for info := range lister.Info() {
		switch info.Name {
		case jsCountSched:
			st.Pending += int64(info.NumPending)
			scheduled = int64(info.NumPending)
			continue
		case jsCountDead:
			st.Dead = int64(info.NumPending)
			continue
		}
		dest := info.Config.Metadata["dest"]
		if len(info.Name) < 2 || info.Name[1] != '-' || dest == "" {
			continue
		}
		cl := strings.IndexByte("fr", info.Name[0])
		if cl < 0 {
			continue
		}
		st.Pending += int64(info.NumPending) + int64(info.NumAckPending)
		j.mu.Lock()
		q := j.destLocked(dest)
		q.counted[cl] = int64(info.NumPending) + int64(info.NumAckPending)
		listed := seen[q]
		listed[cl] = true
		seen[q] = listed
		others := info.NumAckPending > q.held[cl]+len(q.ready[cl])
		delivering := j.watch != nil
		j.mu.Unlock()
		if info.NumPending > 0 || others {
			if delivering {
				j.activate(dest, cl)
			}
		} else if info.NumAckPending == 0 && info.NumWaiting == 0 && now.Sub(lastActive(info)) > j.o.IdleConsumer {
			j.removeConsumer(q, cl, info.Name)
		}
	}
	if err := lister.Err(); err != nil {
		j.log.Warn("spool: jetstream: listing consumers", "err", err)
		return
	}
	j.mu.Lock()
	var gone []*jsDest
	for _, q := range j.dests {
		listed := seen[q]
		for cl := range 2 {
			if !listed[cl] {
				q.counted[cl] = 0 // its consumer is gone: nothing queued
			}
		}
		if !listed[0] || !listed[1] {
			gone = append(gone, q)
		}
	}
	j.mu.Unlock()
	for _, q := range gone { // removed by another instance: made again when needed
		listed := seen[q]
		for cl := range 2 {
			// A write made through the handle before it was forgotten
			// found the consumer gone: it has one again.
			if !listed[cl] && q.forget(cl) && j.hasWork(ctx, q, cl) {
				j.restore(q, cl)
			}
		}
	}
	j.countScheduled(ctx, scheduled, now)
	for _, s := range []jetstream.Stream{j.st, j.refs} {
		if info, err := s.Info(ctx); err == nil {
			st.Bytes += int64(info.State.Bytes)
		}
	}
	j.stats.Store(st)
}

// lastActive is when a consumer last delivered, acknowledged or was
// created.
func lastActive(info *jetstream.ConsumerInfo) time.Time {
	t := info.Created
	for _, s := range []*time.Time{info.Delivered.Last, info.AckFloor.Last} {
		if s != nil && s.After(t) {
			t = *s
		}
	}
	return t
}

// removeConsumer removes an idle destination consumer, unless a retry
// of its destination waits for its time (its consumer must exist when
// the servers publish it, whoever listens then). Work written meanwhile
// through another handle of it is found by looking again, here and by
// the writer's own poll once it no longer lists the consumer, and the
// consumer is made again for it: every queued or scheduled delivery has
// its consumer within a poll, so a delivering instance finds all work
// by listing consumers.
func (j *jsSpool) removeConsumer(q *jsDest, cl int, name string) {
	ctx, cancel := j.ctx()
	defer cancel()
	if cl == classRetry && j.hasScheduled(ctx, q) {
		return
	}
	if err := j.st.DeleteConsumer(ctx, name); err != nil {
		return
	}
	q.forget(cl)
	if j.hasWork(ctx, q, cl) {
		j.restore(q, cl)
	}
}

// hasWork reports whether q has a delivery of class cl queued, or for
// retries scheduled; an error counts as work (making a consumer that is
// not needed costs an idle period).
func (j *jsSpool) hasWork(ctx context.Context, q *jsDest, cl int) bool {
	_, err := j.st.GetMsg(ctx, 0, jetstream.WithGetMsgSubject(j.subj.queueFilter(q.tok, cl)))
	if !errors.Is(err, jetstream.ErrMsgNotFound) {
		return true
	}
	return cl == classRetry && j.hasScheduled(ctx, q)
}

// hasScheduled reports whether a retry of q waits for its time.
func (j *jsSpool) hasScheduled(ctx context.Context, q *jsDest) bool {
	_, err := j.st.GetMsg(ctx, 0, jetstream.WithGetMsgSubject(j.subj.schedFilter(q.tok)))
	return !errors.Is(err, jetstream.ErrMsgNotFound)
}

// restore makes q's consumer of class cl again, and pulls from it when
// this process delivers.
func (j *jsSpool) restore(q *jsDest, cl int) {
	if _, err := j.consumer(q, cl); err != nil {
		j.log.Warn("spool: jetstream: making a consumer again", "destination", q.dest, "err", err)
		return
	}
	j.mu.Lock()
	delivering := j.watch != nil
	j.mu.Unlock()
	if delivering {
		j.activate(q.dest, cl)
	}
}

// Counting the retries waiting for their time per destination: the
// servers list the subjects of the scheduled messages (one per retry,
// p.s.<dest>.<id>), so the count costs a listing as long as the retries
// waiting. It is made at most every jsSchedCountEvery, and only while at
// most jsMaxSchedCount wait; past that Pending leaves them out (Stats
// counts them all).
const (
	jsSchedCountEvery = 10 * time.Second
	jsMaxSchedCount   = 10_000
)

// countScheduled sets each destination's scheduled count from total, the
// retries waiting as the counting consumer reported them (-1: unknown).
func (j *jsSpool) countScheduled(ctx context.Context, total int64, now time.Time) {
	if total < 0 || (total > 0 && now.Sub(j.schedCounted) < jsSchedCountEvery) {
		return
	}
	byTok := map[string]int64{}
	switch {
	case total > jsMaxSchedCount:
		j.log.Debug("spool: jetstream: too many retries waiting to count them per destination", "retries", total)
	case total > 0:
		info, err := j.st.Info(ctx, jetstream.WithSubjectFilter(j.subj.p+".s.>"))
		if err != nil {
			j.log.Warn("spool: jetstream: counting the retries waiting", "err", err)
			return
		}
		for subject, n := range info.State.Subjects {
			if parts := strings.Split(subject, "."); len(parts) == 4 {
				byTok[parts[2]] += int64(n)
			}
		}
		j.schedCounted = now // none waiting costs nothing to know: not paced
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, q := range j.dests {
		q.scheduled = byTok[q.tok]
	}
}
