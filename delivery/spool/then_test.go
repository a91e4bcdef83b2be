package spool

import (
	"errors"
	"io"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// Ack with a batch to follow (a runner's reply turned into sync webhooks)
// removes the acked delivery and stores the batch in one synced write: a
// machine crash right after it, losing everything unsynced, keeps both
// halves, and the new deliveries are leased with their body.
func TestAckThenIsOneSyncedWrite(t *testing.T) {
	const runner, app = "http://runner:80", "http://app:80"
	fs := vfs.NewCrashableMem()
	sp := memSpool(t, fs, Options{})
	ev := batch("ev", `{"issue":1}`, t0, runner, app) // the runner delivery shares its body with a forward
	ev.Deliveries[0].Kind = KindRunner
	mustAppend(t, sp, ev)
	got, _, err := sp.Lease(runner, t0, 1, time.Hour)
	if err != nil || len(got) != 1 {
		t.Fatalf("Lease(runner) = %v, %v", ids(got), err)
	}
	then := &Batch{EventID: "sync-ev", Bodies: []BodyIn{{Payload: []byte(`{"type":"sync"}`)}}}
	for _, id := range []string{"sync-1", "sync-2"} {
		d := delivery(id, "sync-ev", app, t0.Add(time.Second))
		d.Kind = KindSync
		then.Deliveries = append(then.Deliveries, d)
	}
	if err := sp.Ack(got[0], Attempt{At: t0, Status: 200}, then); err != nil {
		t.Fatal(err)
	}
	if st := sp.Stats(); st.Pending != 3 { // the forward and two sync webhooks
		t.Fatalf("pending = %d after the ack, want 3", st.Pending)
	}

	crashed := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0})
	sp.Close()
	sp = memSpool(t, crashed, Options{})
	if _, err := sp.Get("prod", got[0].ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the acked runner delivery came back after a crash: %v", err)
	}
	leased, _, err := sp.Lease(app, t0.Add(time.Second), 10, time.Hour)
	if err != nil || len(leased) != 3 {
		t.Fatalf("Lease(app) after the crash = %v, %v; want the forward and both sync webhooks", ids(leased), err)
	}
	for _, d := range leased {
		want := `{"issue":1}`
		if d.Kind == KindSync {
			want = `{"type":"sync"}`
		}
		b, err := sp.Body(d)
		if err != nil {
			t.Fatal(err)
		}
		r, _ := b.Open()
		payload, _ := io.ReadAll(r)
		r.Close()
		if string(payload) != want {
			t.Errorf("%s (%s) carries %s, want %s", d.ID, d.Kind, payload, want)
		}
	}
}
