package spool

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// The model-based test: random sequences of append, lease, ack,
// reschedule, dead-letter, release, redrive, expiry, clock steps, crashes
// and restarts against the Pebble spool on a crashable in-memory file
// system, checked after every step against a simple model:
//
//   - Lease returns exactly what the model says is due for that
//     destination, in order (first attempts, then retries, by due time and
//     id): no delivery is leased twice at once, and every due delivery is
//     leased as soon as it is asked for;
//   - Destinations names every destination with due work, no later than
//     its earliest due time;
//   - after a crash the stored state is the model's state after some step
//     since the last synced write (an append): nothing appended is lost,
//     and results written without a sync may be lost only as a whole
//     suffix of steps;
//   - the running byte and count accounting equals a recount at open;
//   - every leased delivery's body is its event's payload.

type mdel struct {
	id, ev, dest string
	attempts     int
	due          time.Time
	expires      time.Time
	moved        bool // a first attempt put back later or redriven: no longer due when created
	status       Status
	lease        *Delivery // the leased copy, nil when not leased
}

type model struct {
	ds      map[string]*mdel
	resting map[string]bool // destinations told to rest; the spool forgets at a crash
	dedupe  map[string]mdedupe
	bodies  map[string]string // event → payload
}

type mdedupe struct {
	ev      string
	expires time.Time
}

func (m *model) clone() *model {
	c := &model{ds: map[string]*mdel{}, dedupe: m.dedupe, bodies: m.bodies, resting: maps.Clone(m.resting)}
	for id, d := range m.ds {
		cd := *d
		c.ds[id] = &cd
	}
	return c
}

// due lists dest's unleased pending deliveries due at now, in lease order.
func (m *model) due(dest string, now time.Time) []*mdel {
	var out []*mdel
	for _, d := range m.ds {
		if d.dest == dest && d.status == StatusPending && d.lease == nil && !d.due.After(now) {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b *mdel) int {
		if (a.attempts == 0) != (b.attempts == 0) {
			if a.attempts == 0 {
				return -1
			}
			return 1
		}
		if c := a.due.Compare(b.due); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	return out
}

// earliest is the earliest due time of dest's unleased pending deliveries.
func (m *model) earliest(dest string) (time.Time, bool) {
	var t time.Time
	found := false
	for _, d := range m.ds {
		if d.dest == dest && d.status == StatusPending && d.lease == nil && (!found || d.due.Before(t)) {
			t, found = d.due, true
		}
	}
	return t, found
}

func (m *model) pick(rng *rand.Rand, f func(*mdel) bool) *mdel {
	var c []*mdel
	for _, d := range m.ds {
		if f(d) {
			c = append(c, d)
		}
	}
	if len(c) == 0 {
		return nil
	}
	slices.SortFunc(c, func(a, b *mdel) int { return strings.Compare(a.id, b.id) })
	return c[rng.IntN(len(c))]
}

var modelDests = []string{"http://a:80", "http://b:80", "https://c:443"}

func TestSpoolModel(t *testing.T) {
	seeds := 12
	steps := 1500
	if testing.Short() || raceEnabled {
		seeds, steps = 4, 600
	}
	for seed := range seeds {
		t.Run("seed"+strconv.Itoa(seed), func(t *testing.T) { runModel(t, uint64(seed), steps) })
	}
}

type modelRun struct {
	t     *testing.T
	rng   *rand.Rand
	fs    *vfs.MemFS
	sp    Spool
	o     Options
	m     *model
	now   time.Time
	snaps []*model // model states since the last synced write, oldest first
	evs   int
	log   []string
}

func runModel(t *testing.T, seed uint64, steps int) {
	r := &modelRun{t: t, rng: rand.New(rand.NewPCG(seed, 42)), fs: vfs.NewCrashableMem(), now: t0,
		m: &model{ds: map[string]*mdel{}, dedupe: map[string]mdedupe{}, bodies: map[string]string{}, resting: map[string]bool{}}}
	// Small bounds, so that windows fill, evict and rescan, and some
	// bodies go to blob files.
	r.o = Options{PerDestCached: 3, MaxCached: 5, ScanBatch: 2, InlineBody: 40, MaxCachedBody: 20, MaxCachedBodies: 60}
	r.sp = r.open()
	r.snaps = []*model{r.m.clone()}
	defer func() {
		if t.Failed() {
			n := len(r.log)
			t.Logf("last steps:\n%s", strings.Join(r.log[max(0, n-30):], "\n"))
		}
	}()
	for i := 0; i < steps && !t.Failed(); i++ {
		r.step()
		r.check()
	}
	r.checkRecount()
}

func (r *modelRun) open() Spool {
	o := r.o
	o.FS, o.Dir, o.Logger, o.MaxBytes, o.MinFree = r.fs, "/spool", testLog, 1<<40, 1
	sp, err := Open(o)
	if err != nil {
		r.t.Fatal(err)
	}
	return sp
}

func (r *modelRun) logf(format string, args ...any) {
	r.log = append(r.log, fmt.Sprintf("%v ", r.now.Sub(t0))+fmt.Sprintf(format, args...))
}

// done records the model's state after a step; synced starts a new
// window of possible crash states.
func (r *modelRun) done(synced bool) {
	if synced {
		r.snaps = r.snaps[:0]
	}
	r.snaps = append(r.snaps, r.m.clone())
}

func (r *modelRun) leased(f func(*mdel) bool) *mdel {
	return r.m.pick(r.rng, func(d *mdel) bool { return d.lease != nil && (f == nil || f(d)) })
}

func (r *modelRun) attempt() Attempt { return Attempt{At: r.now, Status: 503} }

func (r *modelRun) step() {
	t := r.t
	switch op := r.rng.IntN(100); {
	case op < 20:
		r.appendEvent()
	case op < 42:
		r.lease()
	case op < 52:
		if d := r.leased(nil); d != nil {
			r.logf("ack %s", d.id)
			if err := r.sp.Ack(d.lease, r.attempt(), nil); err != nil {
				t.Fatalf("Ack(%s): %v", d.id, err)
			}
			delete(r.m.ds, d.id)
			r.done(false)
		}
	case op < 64:
		if d := r.leased(nil); d != nil {
			due := r.now.Add(time.Duration(r.rng.IntN(60)-30) * time.Millisecond)
			r.logf("reschedule %s to %v", d.id, due.Sub(t0))
			if err := r.sp.Reschedule(d.lease, r.attempt(), due); err != nil {
				t.Fatalf("Reschedule(%s): %v", d.id, err)
			}
			if !due.After(d.due) {
				due = d.due.Add(1)
			}
			d.due, d.attempts, d.lease = due, d.attempts+1, nil
			r.done(false)
		}
	case op < 69:
		if d := r.leased(nil); d != nil {
			r.logf("dead %s", d.id)
			if err := r.sp.Dead(d.lease, r.attempt(), StatusDead, "schedule exhausted"); err != nil {
				t.Fatalf("Dead(%s): %v", d.id, err)
			}
			d.status, d.attempts, d.due, d.lease = StatusDead, d.attempts+1, r.now, nil
			r.done(false)
		}
	case op < 76:
		if d := r.leased(nil); d != nil {
			due := r.now
			if r.rng.IntN(2) == 0 {
				due = r.now.Add(time.Duration(r.rng.IntN(30)) * time.Millisecond)
			}
			r.logf("release %s to %v", d.id, due.Sub(t0))
			if err := r.sp.Release(d.lease, due); err != nil {
				t.Fatalf("Release(%s): %v", d.id, err)
			}
			if due.After(d.due) {
				d.due, d.moved = due, true
			}
			d.lease = nil
			r.done(false)
		}
	case op < 80:
		if d := r.m.pick(r.rng, func(d *mdel) bool { return d.status == StatusDead }); d != nil {
			r.logf("redrive %s", d.id)
			if _, err := r.sp.Redrive("prod", d.id, r.now, r.now.Add(time.Hour)); err != nil {
				t.Fatalf("Redrive(%s): %v", d.id, err)
			}
			d.status, d.due, d.expires, d.moved = StatusPending, r.now, r.now.Add(time.Hour), true
			r.done(false)
		}
	case op < 83:
		r.expire()
	case op < 85:
		dest := modelDests[r.rng.IntN(len(modelDests))]
		rest := !r.m.resting[dest]
		r.logf("rest %s %v", dest, rest)
		r.sp.Rest(dest, rest)
		r.m.resting[dest] = rest
	case op < 89:
		r.sweep()
	case op < 97:
		r.now = r.now.Add(time.Duration(r.rng.IntN(15)) * time.Millisecond)
	default:
		r.crash()
	}
}

func (r *modelRun) appendEvent() {
	r.evs++
	ev := "ev" + strconv.Itoa(r.evs)
	payload := strings.Repeat(strconv.Itoa(r.evs%10), 1+r.rng.IntN(70))
	var dests []string
	for _, d := range modelDests {
		if r.rng.IntN(2) == 0 {
			dests = append(dests, d)
		}
	}
	b := batch(ev, payload, r.now, dests...)
	for _, d := range b.Deliveries {
		d.Expires = r.now.Add(modelSpan)
	}
	var key string
	if r.rng.IntN(3) == 0 {
		key = "k" + strconv.Itoa(r.rng.IntN(6))
		b.Dedupe = &Dedupe{Env: "prod", Integration: "github", Key: key, EventID: ev, Now: r.now, Expires: r.now.Add(40 * time.Millisecond)}
	}
	r.logf("append %s to %v dedupe %q", ev, dests, key)
	res, err := r.sp.Append(b)
	if err != nil {
		r.t.Fatalf("Append: %v", err)
	}
	if live, ok := r.m.dedupe[key]; key != "" && ok && live.expires.After(r.now) {
		if !res.Duplicate || res.FirstID != live.ev {
			r.t.Fatalf("Append of a duplicate of %s: %+v", live.ev, res)
		}
		return
	}
	if res.Duplicate {
		r.t.Fatalf("Append: a duplicate of nothing live: %+v", res)
	}
	if key != "" {
		r.m.dedupe[key] = mdedupe{ev: ev, expires: b.Dedupe.Expires}
	}
	r.m.bodies[ev] = payload
	for _, d := range b.Deliveries {
		r.m.ds[d.ID] = &mdel{id: d.ID, ev: ev, dest: d.Dest, due: r.now, expires: d.Expires, status: StatusPending}
	}
	r.done(len(b.Deliveries) > 0 || key != "") // an empty event writes nothing, so syncs nothing
}

func (r *modelRun) lease() {
	dest := modelDests[r.rng.IntN(len(modelDests))]
	max := 1 + r.rng.IntN(4)
	want := r.m.due(dest, r.now)
	if len(want) > max {
		want = want[:max]
	}
	got, next, err := r.sp.Lease(dest, r.now, max, time.Hour)
	r.logf("lease %s max %d: %v (next %v)", dest, max, ids(got), next.Sub(t0))
	if err != nil {
		r.t.Fatalf("Lease: %v", err)
	}
	wantIDs := make([]string, len(want))
	for i, d := range want {
		wantIDs[i] = d.id
	}
	if !slices.Equal(ids(got), wantIDs) {
		r.t.Fatalf("Lease(%s, max %d) = %v; the model says %v", dest, max, ids(got), wantIDs)
	}
	for _, d := range got {
		md := r.m.ds[d.ID]
		md.lease = d
		if d.Attempts != md.attempts || !d.Due.Equal(md.due) {
			r.t.Fatalf("leased %s with %d attempts due %v; the model says %d, %v", d.ID, d.Attempts, d.Due, md.attempts, md.due)
		}
		b, err := r.sp.Body(d)
		if err != nil {
			r.t.Fatalf("Body(%s): %v", d.ID, err)
		}
		rd, err := b.Open()
		if err != nil {
			r.t.Fatal(err)
		}
		p := make([]byte, b.Len()+1)
		n, _ := rd.Read(p)
		rd.Close()
		if string(p[:n]) != r.m.bodies[md.ev] || string(b.Header) != "h" {
			r.t.Fatalf("Body(%s) = %q; want %q", d.ID, p[:n], r.m.bodies[md.ev])
		}
	}
	if e, ok := r.m.earliest(dest); ok {
		if next.IsZero() || late(next, e, r.now) {
			r.t.Fatalf("Lease(%s) next %v; the earliest unleased is due %v", dest, next, e)
		}
	} else if !next.IsZero() {
		r.t.Fatalf("Lease(%s) next %v with nothing unleased", dest, next)
	}
	r.done(false)
}

// modelSpan is how long the model's deliveries' retry schedule lasts.
const modelSpan = 60 * time.Millisecond

// sweep runs Sweep: unleased due deliveries of a resting destination
// whose schedule ran out are dead-lettered, and nothing else. Each such
// delivery must be, with one allowance: a first attempt that was moved
// (put back later, or redriven) may wait until a span after its due time,
// when every first attempt sorted before it has run out too.
func (r *modelRun) sweep() {
	r.logf("sweep")
	ds, err := r.sp.Sweep(r.now, 1000, "expired")
	if err != nil {
		r.t.Fatalf("Sweep: %v", err)
	}
	want, may := map[string]bool{}, map[string]bool{}
	for id, d := range r.m.ds {
		if r.m.resting[d.dest] && d.status == StatusPending && d.lease == nil && !d.due.After(r.now) && !r.now.Before(d.expires) {
			may[id] = true
			if d.attempts > 0 || !d.moved || !r.now.Before(d.due.Add(modelSpan)) {
				want[id] = true
			}
		}
	}
	for _, d := range ds {
		if !may[d.ID] || d.Status != StatusDead || d.Reason != "expired" {
			r.t.Fatalf("Sweep dead-lettered %s (%s), which the model keeps", d.ID, d.Status)
		}
		md := r.m.ds[d.ID]
		md.status, md.due = StatusDead, r.now
		delete(want, d.ID)
	}
	if len(want) > 0 {
		var left []string
		for id := range want {
			d, err := r.sp.Get("prod", id)
			if err != nil {
				left = append(left, id+": "+err.Error())
				continue
			}
			left = append(left, fmt.Sprintf("%s (%s, %d attempts, due %v, expires %v)", id, d.Status, d.Attempts, d.Due.Sub(t0), d.Expires.Sub(t0)))
		}
		r.t.Fatalf("Sweep left pending what ran out of its schedule: %s", strings.Join(left, "; "))
	}
	r.done(false)
}

func (r *modelRun) expire() {
	before := r.now.Add(-50 * time.Millisecond)
	r.logf("expire dead before %v", before.Sub(t0))
	if _, err := r.sp.Expire(r.now, before, 1000); err != nil {
		r.t.Fatalf("Expire: %v", err)
	}
	for id, d := range r.m.ds {
		if d.status == StatusDead && d.due.Before(before) {
			delete(r.m.ds, id)
		}
	}
	r.done(false)
}

// crash abandons the spool as a machine crash would (unsynced data
// partly lost), reopens it and finds which model state it came back in.
func (r *modelRun) crash() {
	clone := r.fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: r.rng.IntN(101), RNG: r.rng})
	r.sp.Close()
	r.fs = clone
	r.sp = r.open()
	r.logf("crash and restart")
	var errs []string
	for i := len(r.snaps) - 1; i >= 0; i-- {
		err := r.matches(r.snaps[i])
		if err == nil {
			r.m = r.snaps[i].clone()
			for _, d := range r.m.ds {
				d.lease = nil
			}
			clear(r.m.resting)
			r.snaps = []*model{r.m.clone()}
			return
		}
		errs = append(errs, fmt.Sprintf("state %d: %v", i, err))
	}
	r.t.Fatalf("after a crash the spool matches no state since the last sync:\n%s", strings.Join(errs, "\n"))
}

// matches reports how the stored state differs from m.
func (r *modelRun) matches(m *model) error {
	all := map[string]bool{}
	for _, s := range r.snaps {
		for id := range s.ds {
			all[id] = true
		}
	}
	for id := range all {
		d, err := r.sp.Get("prod", id)
		want, ok := m.ds[id]
		switch {
		case errors.Is(err, ErrNotFound) && !ok:
		case err != nil && ok:
			return fmt.Errorf("%s: %v, want %s", id, err, want.status)
		case err != nil:
			return err
		case !ok:
			return fmt.Errorf("%s is %s, want it gone", id, d.Status)
		case d.Status != want.status || d.Attempts != want.attempts || (d.Status == StatusPending && !d.Due.Equal(want.due)):
			return fmt.Errorf("%s is %s/%d due %v, want %s/%d due %v", id, d.Status, d.Attempts, d.Due, want.status, want.attempts, want.due)
		}
	}
	return nil
}

// late reports whether a due time reported as got, for work due at want,
// could miss it: it is after want, and after now when want has passed.
func late(got, want, now time.Time) bool {
	if want.Before(now) {
		want = now
	}
	return got.After(want)
}

// check verifies the counters and Destinations against the model.
func (r *modelRun) check() {
	var pending, dead int64
	for _, d := range r.m.ds {
		if d.status == StatusPending {
			pending++
		} else {
			dead++
		}
	}
	st := r.sp.Stats()
	if st.Pending != pending || st.Dead != dead {
		r.t.Fatalf("Stats pending %d dead %d; the model has %d, %d", st.Pending, st.Dead, pending, dead)
	}
	got := map[string]time.Time{}
	for _, dd := range r.sp.Destinations(r.now) {
		got[dd.Dest] = dd.Due
		if n := r.sp.Next(dd.Dest, r.now); !n.Equal(dd.Due) {
			r.t.Fatalf("Next(%s) = %v; Destinations says %v", dd.Dest, n, dd.Due)
		}
	}
	for _, dest := range modelDests {
		e, ok := r.m.earliest(dest)
		g, listed := got[dest]
		if ok && (!listed || late(g, e, r.now)) {
			r.t.Fatalf("Destinations: %s listed %v due %v; its earliest unleased is due %v", dest, listed, g, e)
		}
		if !ok && listed {
			r.t.Fatalf("Destinations lists %s, which has nothing unleased", dest)
		}
	}
}

// checkRecount reopens the spool and compares the running accounting
// with the recount made at open.
func (r *modelRun) checkRecount() {
	if r.t.Failed() {
		return
	}
	before := r.sp.Stats()
	r.sp.Close()
	r.sp = r.open()
	defer r.sp.Close()
	after := r.sp.Stats()
	if before.Bytes != after.Bytes || before.BodyBytes != after.BodyBytes || before.DedupeBytes != after.DedupeBytes ||
		before.Pending != after.Pending || before.Dead != after.Dead {
		r.t.Fatalf("running accounting %+v; recount at open %+v", before, after)
	}
}
