package spool

import (
	"bytes"
	"slices"
	"time"
)

// A window is what the spool keeps in memory of one queue class of one
// destination: the unleased pending deliveries whose queue keys sort
// before a bound, in key order (due time, then id). Its one invariant:
//
//	every pending delivery of the class on disk that is neither leased
//	nor being written, and whose key sorts before lim (every key, when
//	full), is in items; and items holds nothing else.
//
// Leasing takes from the front of items without reading the disk. When
// items runs out and the window is not full, a scan of the disk from lim
// refills it; a delivery being written (appended, rescheduled, redriven,
// released) is skipped by scans and inserted by its writer once written,
// if its key falls inside the window. That is the whole protocol between
// the disk queue and memory, and it lives in this file and in dq's
// methods, under dq.mu.
type window struct {
	items []*entry // sorted by key
	lim   []byte   // exclusive bound of the window's keys; nil is -∞
	full  bool     // the bound is +∞: items holds every such delivery
}

// entry is one delivery held in a window, or leased.
type entry struct {
	suffix []byte // queue key suffix: due time, then id
	d      *Delivery
	body   *Body // the body, when kept in memory with the delivery
}

func (e *entry) due() time.Time { return e.d.Due }

// covers reports whether key suffix k falls inside the window.
func (w *window) covers(k []byte) bool {
	return w.full || (w.lim != nil && bytes.Compare(k, w.lim) < 0)
}

// insert adds e if its key falls inside the window and reports whether it
// did. Above limit items, the window gives up its last entry, lowering
// its bound to that entry's key (which stays on disk, outside the
// window): evicted is that entry, nil when none was given up, and may be
// e itself.
func (w *window) insert(e *entry, limit int) (added bool, evicted *entry) {
	if !w.covers(e.suffix) {
		return false, nil
	}
	i, _ := slices.BinarySearchFunc(w.items, e.suffix, func(x *entry, k []byte) int { return bytes.Compare(x.suffix, k) })
	w.items = slices.Insert(w.items, i, e)
	if len(w.items) <= limit {
		return true, nil
	}
	last := w.items[len(w.items)-1]
	w.items[len(w.items)-1] = nil
	w.items = w.items[:len(w.items)-1]
	w.full, w.lim = false, last.suffix
	return last != e, last
}

// front returns the first entry if it is due at now.
func (w *window) front(now time.Time) *entry {
	if len(w.items) == 0 || w.items[0].due().After(now) {
		return nil
	}
	return w.items[0]
}

// pop removes the first entry.
func (w *window) pop() *entry {
	e := w.items[0]
	w.items[0] = nil
	w.items = w.items[1:]
	if len(w.items) == 0 {
		w.items = nil // drop the backing array's prefix
	}
	return e
}

// clear forgets the window's entries: the bound moves to -∞, so the next
// scan starts at the head of the disk queue. It returns them.
func (w *window) clear() []*entry {
	items := w.items
	*w = window{}
	return items
}

// needsScan reports whether items is empty while the disk may hold more.
func (w *window) needsScan() bool { return len(w.items) == 0 && !w.full }

// next returns the earliest due time in the window, and false when the
// window is empty.
func (w *window) next() (time.Time, bool) {
	if len(w.items) == 0 {
		return time.Time{}, false
	}
	return w.items[0].due(), true
}
