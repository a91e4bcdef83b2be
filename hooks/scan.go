package hooks

import (
	"context"
	"sort"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/edgehook/edgehook/config"
)

// watch wakes the scan loop whenever an open task changes, so a new task
// starts at once rather than at the next poll.
func (w *Worker) watch() {
	defer w.wg.Done()
	prefix := w.store.Prefix() + "/tasks/open/"
	for w.ctx.Err() == nil {
		wch := w.cli.Watch(clientv3.WithRequireLeader(w.ctx), prefix, clientv3.WithPrefix(), clientv3.WithFilterDelete())
		for resp := range wch {
			if resp.Err() != nil {
				break
			}
			if len(resp.Events) > 0 {
				w.kick()
			}
		}
		if w.sleep(w.opts.Poll) {
			return
		}
	}
}

// scanLoop scans the open tasks every Poll and on every wake-up, and
// starts the due ones it can claim.
func (w *Worker) scanLoop() {
	defer w.wg.Done()
	t := time.NewTicker(w.opts.Poll)
	defer t.Stop()
	for {
		w.scan()
		select {
		case <-w.ctx.Done():
			return
		case <-t.C:
		case <-w.wake:
		}
	}
}

// scan reads the open tasks, updates the counts and claims due tasks,
// earliest first, while this instance has room.
func (w *Worker) scan() {
	ctx, cancel := context.WithTimeout(w.ctx, w.opts.LeaseTTL)
	defer cancel()
	tasks, err := w.store.OpenTasks(ctx)
	if err != nil {
		if w.ctx.Err() == nil {
			w.log.Warn("hooks: scanning tasks", "err", err)
		}
		return
	}
	w.count(tasks)
	lease := w.currentLease()
	if lease == 0 {
		return
	}
	now := time.Now()
	var due []*config.Task
	for _, t := range tasks {
		if t.Due(now) {
			due = append(due, t)
		}
	}
	sort.Slice(due, func(i, j int) bool { return due[i].NextAttemptAt.Before(due[j].NextAttemptAt) })
	for _, t := range due {
		select {
		case w.sem <- struct{}{}:
		default:
			return // full; the rest wait for the next scan
		}
		if !w.start(ctx, t, lease) {
			<-w.sem
		}
	}
}

// start claims t and runs it in the background, reporting whether it did.
func (w *Worker) start(ctx context.Context, t *config.Task, lease clientv3.LeaseID) bool {
	key := t.Env + "/" + t.Integration + "/" + t.Connection + "/" + t.Hook
	w.mu.Lock()
	busy := w.inflight[key]
	w.inflight[key] = true
	w.mu.Unlock()
	if busy {
		return false
	}
	cl, err := w.store.ClaimTask(ctx, t, lease, w.opts.Holder)
	if err != nil || cl == nil {
		if err != nil && w.ctx.Err() == nil {
			w.log.Warn("hooks: claiming a task", "err", err)
		}
		w.done(key)
		return false
	}
	go func() {
		defer func() { w.done(key); <-w.sem }()
		w.run(cl)
	}()
	return true
}

func (w *Worker) done(key string) {
	w.mu.Lock()
	delete(w.inflight, key)
	w.mu.Unlock()
}

// count records the numbers of pending, running and failed tasks.
func (w *Worker) count(tasks []*config.Task) {
	var n [3]int64
	for _, t := range tasks {
		switch {
		case t.Status == config.TaskPending && t.Claimed:
			n[1]++
		case t.Status == config.TaskPending:
			n[0]++
		case t.Status == config.TaskFailed:
			n[2]++
		}
	}
	for i := range n {
		w.counts[i].Store(n[i])
	}
}
