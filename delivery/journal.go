package delivery

import (
	"sync"

	"github.com/edgehook/edgehook/delivery/spool"
)

// journal keeps the last deliveries this instance delivered, newest
// last, for the admin API's "recently delivered" list and its event
// lookup: the spool forgets a delivery once it is delivered. It is a ring
// of fixed size, written once per delivered attempt and read only by the
// admin API.
type journal struct {
	mu   sync.Mutex
	ring []Detail
	next int  // where the next entry goes
	full bool // the ring has wrapped
}

func newJournal(n int) *journal { return &journal{ring: make([]Detail, n)} }

// add records d, just delivered by attempt a.
func (j *journal) add(d *spool.Delivery, a spool.Attempt) {
	if len(j.ring) == 0 {
		return
	}
	det := detailOf(d)
	det.Status, det.NextAttempt, det.Attempts = statusDelivered, nil, d.Attempts+1
	at := a.At.UTC()
	det.LastStatus, det.LastError, det.LastAttempt = a.Status, "", &at
	det.History = append(det.History, attemptInfo(d.Attempts+1, a))
	if n := len(det.History); n > spool.MaxHistory {
		det.History = det.History[n-spool.MaxHistory:]
	}
	j.mu.Lock()
	j.ring[j.next] = *det
	j.next++
	if j.next == len(j.ring) {
		j.next, j.full = 0, true
	}
	j.mu.Unlock()
}

// each calls f with the entries newest first until it returns false.
func (j *journal) each(f func(*Detail) bool) {
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
		if !f(&j.ring[k]) {
			return
		}
	}
}
