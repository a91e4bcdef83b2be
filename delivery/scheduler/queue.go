package scheduler

import (
	"container/heap"
	"time"
)

// ring is the FIFO of destinations ready for a grant: served from the
// front, a destination that can take more goes to the back.
type ring struct {
	q    []*dest
	head int
}

func (r *ring) len() int { return len(r.q) - r.head }

func (r *ring) push(d *dest) {
	d.inRing = true
	r.q = append(r.q, d)
}

func (r *ring) pop() *dest {
	d := r.q[r.head]
	r.q[r.head] = nil
	r.head++
	if r.head > 64 && r.head*2 > len(r.q) {
		r.q = append(r.q[:0], r.q[r.head:]...)
		r.head = 0
	}
	d.inRing = false
	return d
}

// timerHeap orders destinations by when the dispatcher must look at them
// again (future due work, or the end of a circuit's rest).
type timerHeap []*dest

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].wakeAt.Before(h[j].wakeAt) }
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapAt, h[j].heapAt = i, j
}
func (h *timerHeap) Push(x any) {
	d := x.(*dest)
	d.heapAt = len(*h)
	*h = append(*h, d)
}
func (h *timerHeap) Pop() any {
	old := *h
	d := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	d.heapAt = -1
	return d
}

// wakeAt sets when d is looked at again (the earlier of what is set and t).
func (h *timerHeap) wake(d *dest, t time.Time) {
	switch {
	case d.heapAt < 0:
		d.wakeAt = t
		heap.Push(h, d)
	case t.Before(d.wakeAt):
		d.wakeAt = t
		heap.Fix(h, d.heapAt)
	}
}

// next returns the earliest wake time, and false when none.
func (h timerHeap) next() (time.Time, bool) {
	if len(h) == 0 {
		return time.Time{}, false
	}
	return h[0].wakeAt, true
}
