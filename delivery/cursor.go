package delivery

import (
	"bytes"
	"sync"
)

// queueCursors remember, per destination and queue class, the position
// the next scan of the pending queue starts from: the queue key suffix
// (due time and id) of the first key not yet taken. Every key before a
// cursor has been examined by a scan: its delivery is in memory, finished,
// or moved. Scanning from the cursor rather than from the queue's head
// keeps a scan from walking the tombstones that finished deliveries leave
// in the LSM until compaction; without it every scan would cost
// O(deliveries done).
//
// A cursor is only ever an optimisation: starting at the head is always
// right. Inserting a key below a cursor lowers it (note), also while a scan
// runs, so a scan can never move a cursor past a key it did not see.
type queueCursors struct {
	mu sync.Mutex
	m  map[string]*cursor
}

// cursor is one destination's scan position; index 0 is the first-attempt
// class, 1 the retry class. A nil position is the head.
type cursor struct {
	at       [2][]byte
	scanning bool
	low      [2][]byte // lowest key noted while scanning, nil if none
}

func classOf(first bool) int {
	if first {
		return 0
	}
	return 1
}

// below reports whether key suffix k sorts before position at.
func below(k, at []byte) bool { return at != nil && bytes.Compare(k, at) < 0 }

// note records that a queue key of dest with suffix k was committed. It
// must be called after the commit, so that a scan either saw the key or
// learns of it here.
func (q *queueCursors) note(dest string, first bool, k []byte) {
	q.mu.Lock()
	defer q.mu.Unlock()
	c := q.m[dest]
	if c == nil {
		return // no cursor: the next scan starts at the head
	}
	cl := classOf(first)
	if below(k, c.at[cl]) {
		c.at[cl] = k
	}
	if c.scanning && (c.low[cl] == nil || bytes.Compare(k, c.low[cl]) < 0) {
		c.low[cl] = k
	}
}

// begin starts a scan of dest and returns where each class starts.
func (q *queueCursors) begin(dest string) [2][]byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	c := q.m[dest]
	if c == nil {
		c = &cursor{}
		q.m[dest] = c
	}
	c.scanning = true
	c.low = [2][]byte{}
	return c.at
}

// end finishes a scan of dest that stopped at stop in each class (the
// first position it did not take). With live false the queue had no keys
// left and, unless a key was noted meanwhile, the cursor is dropped.
func (q *queueCursors) end(dest string, stop [2][]byte, live bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	c := q.m[dest]
	if c == nil {
		return
	}
	c.scanning = false
	if !live && c.low[0] == nil && c.low[1] == nil {
		delete(q.m, dest)
		return
	}
	for cl := range c.at {
		c.at[cl] = stop[cl]
		if c.low[cl] != nil && below(c.low[cl], stop[cl]) {
			c.at[cl] = c.low[cl]
		}
	}
}

// reset moves dest's cursors back to the head.
func (q *queueCursors) reset(dest string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if c := q.m[dest]; c != nil {
		c.at = [2][]byte{}
		if c.scanning { // make the running scan's end keep the head
			c.low = [2][]byte{{}, {}}
		}
	}
}
