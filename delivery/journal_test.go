package delivery

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/edgehook/edgehook/delivery/spool"
)

// The journal keeps the last n delivered deliveries, newest first, per
// environment, each with the attempt that delivered it last in its
// history; recording one allocates nothing.
func TestJournal(t *testing.T) {
	j := newJournal(3)
	now := time.Now()
	for i := range 5 {
		env := "prod"
		if i == 3 {
			env = "dev"
		}
		j.add(&spool.Delivery{ID: "d" + strconv.Itoa(i), Env: env, Attempts: i,
			History: make([]spool.Attempt, min(i, spool.MaxHistory))}, spool.Attempt{At: now, Status: 200})
	}
	var ids []string
	j.each("prod", func(e *journalEntry) bool { ids = append(ids, e.id); return true })
	if !slices.Equal(ids, []string{"d4", "d2"}) { // d3 is dev's, d0 and d1 were overwritten
		t.Fatalf("prod's entries: %v", ids)
	}
	var d *Detail
	j.each("prod", func(e *journalEntry) bool { d = e.detail(); return false })
	if d.Status != "delivered" || d.Attempts != 5 || len(d.History) != 5 || d.History[4].Number != 5 || d.History[4].Status != 200 ||
		d.NextAttempt != nil || d.LastStatus != 200 {
		t.Fatalf("the newest: %+v", d)
	}
	long := &spool.Delivery{ID: "x", Env: "prod", Attempts: 30, History: make([]spool.Attempt, spool.MaxHistory)}
	if n := testing.AllocsPerRun(100, func() { j.add(long, spool.Attempt{At: now}) }); n != 0 {
		t.Fatalf("add allocates %v times", n)
	}
	j.each("prod", func(e *journalEntry) bool { d = e.detail(); return false })
	if len(d.History) != spool.MaxHistory || d.History[0].Number != 12 || d.History[spool.MaxHistory-1].Number != 31 {
		t.Fatalf("a long history: %d attempts, first %d", len(d.History), d.History[0].Number)
	}
	if len(long.History) != spool.MaxHistory {
		t.Fatal("detail changed the delivery's history")
	}
}
