package spool

import (
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
	lister := j.st.ListConsumers(ctx)
	for info := range lister.Info() {
		switch info.Name {
		case jsCountSched:
			st.Pending += int64(info.NumPending)
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
			if !listed[cl] {
				q.forget(cl)
			}
		}
	}
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

// removeConsumer removes an idle destination consumer. A delivery
// appended meanwhile is found by looking again, and the consumer made
// again for it.
func (j *jsSpool) removeConsumer(q *jsDest, cl int, name string) {
	ctx, cancel := j.ctx()
	defer cancel()
	if err := j.st.DeleteConsumer(ctx, name); err != nil {
		return
	}
	q.forget(cl)
	if _, err := j.st.GetMsg(ctx, 0, jetstream.WithGetMsgSubject(j.subj.queueFilter(q.tok, cl))); err == nil {
		if _, err := j.consumer(q, cl); err == nil {
			j.activate(q.dest, cl)
		}
	}
}
