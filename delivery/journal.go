package delivery

import (
	"sync"
	"time"

	"github.com/edgehook/edgehook/delivery/spool"
)

// journal keeps the last deliveries this instance delivered, newest
// last, for the admin API's "recently delivered" list and its event
// lookup: the spool forgets a delivery once it is delivered. It is a ring
// of fixed size, written once per delivered attempt without allocating
// (an entry holds the delivery's strings and history as they are, not
// copies, and never its body), and read only by the admin API, which
// makes Details of what it shows.
type journal struct {
	mu   sync.Mutex
	ring []journalEntry
	next int  // where the next entry goes
	full bool // the ring has wrapped
}

// journalEntry is one delivered delivery: what infoOf and detailOf read
// of it, and the attempt that delivered it.
type journalEntry struct {
	id, eventID, env, integration, connectionID, syncName, url, dest string
	kind                                                             spool.Kind
	created                                                          time.Time
	attempts                                                         int // before the last
	history                                                          []spool.Attempt
	last                                                             spool.Attempt
}

func newJournal(n int) *journal { return &journal{ring: make([]journalEntry, n)} }

// add records d, just delivered by attempt a.
func (j *journal) add(d *spool.Delivery, a spool.Attempt) {
	if len(j.ring) == 0 {
		return
	}
	j.mu.Lock()
	j.ring[j.next] = journalEntry{id: d.ID, eventID: d.EventID, env: d.Env, integration: d.Integration,
		connectionID: d.ConnectionID, syncName: d.SyncName, url: d.URL, dest: d.Dest, kind: d.Kind,
		created: d.Created, attempts: d.Attempts, history: d.History, last: a}
	j.next++
	if j.next == len(j.ring) {
		j.next, j.full = 0, true
	}
	j.mu.Unlock()
}

// each calls f with the entries of env newest first until it returns
// false.
func (j *journal) each(env string, f func(*journalEntry) bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	n := j.next
	if j.full {
		n = len(j.ring)
	}
	for i := range n {
		k := j.next - 1 - i
		if k < 0 {
			k += len(j.ring)
		}
		if e := &j.ring[k]; e.env == env && !f(e) {
			return
		}
	}
}

// detail is e as the admin API shows it: status delivered, the attempt
// that delivered it last in its history.
func (e *journalEntry) detail() *Detail {
	d := &spool.Delivery{ID: e.id, EventID: e.eventID, Kind: e.kind, Env: e.env, Integration: e.integration,
		ConnectionID: e.connectionID, SyncName: e.syncName, URL: e.url, Dest: e.dest, Created: e.created,
		Attempts: e.attempts + 1, History: append(e.history[:len(e.history):len(e.history)], e.last)}
	if n := len(d.History); n > spool.MaxHistory {
		d.History = d.History[n-spool.MaxHistory:]
	}
	out := detailOf(d)
	out.Status, out.NextAttempt = statusDelivered, nil
	return out
}
