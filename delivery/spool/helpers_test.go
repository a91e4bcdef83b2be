package spool

import (
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

var testLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// openTestSpool opens a spool in dir on the real file system.
func openTestSpool(t testing.TB, dir string) Spool {
	t.Helper()
	return openWith(t, Options{Dir: dir})
}

// openWith opens a spool with o, filling in a logger and a generous
// budget for tests, and closes it at the end of the test.
func openWith(t testing.TB, o Options) Spool {
	t.Helper()
	if o.Logger == nil {
		o.Logger = testLog
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = 1 << 40
	}
	if o.MinFree == 0 {
		o.MinFree = 1
	}
	sp, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	return sp
}

// memSpool opens a spool on an in-memory file system.
func memSpool(t testing.TB, fs vfs.FS, o Options) Spool {
	t.Helper()
	o.FS, o.Dir = fs, "/spool"
	return openWith(t, o)
}

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// delivery returns a new pending delivery of event ev for dest.
func delivery(id, ev, dest string, due time.Time) *Delivery {
	return &Delivery{ID: id, EventID: ev, Env: "prod", Integration: "github", Provider: "github",
		ConnectionID: "c1", URL: dest + "/hook", Dest: dest, Created: due, Received: due, Due: due}
}

// batch returns event ev with one body and a delivery per dest.
func batch(ev string, payload string, due time.Time, dests ...string) *Batch {
	b := &Batch{EventID: ev, Bodies: []BodyIn{{Header: []byte("h"), Payload: []byte(payload)}}}
	for i, d := range dests {
		b.Deliveries = append(b.Deliveries, delivery(ev+"-"+strconv.Itoa(i), ev, d, due))
	}
	return b
}

func mustAppend(t testing.TB, sp Spool, b *Batch) {
	t.Helper()
	res, err := sp.Append(b)
	if err != nil || res.Duplicate {
		t.Fatalf("Append(%s): %+v %v", b.EventID, res, err)
	}
}

func ids(ds []*Delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

// eventually polls cond every 5ms, failing after d.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true after %v", what, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
