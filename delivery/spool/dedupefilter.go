package spool

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
)

// Dedupe filter sizing: a generation is a 4 Mbit bloom filter (512 KiB)
// with filterK probes, about 1% false positives at genKeys keys; at most
// maxGens generations (8 MiB) are kept.
const (
	genBits = 1 << 22
	genKeys = 400_000
	filterK = 7
	maxGens = 16
)

// dedupeFilter answers most dedupe lookups of the accept path, which
// nearly all miss, without reading the store: it says "certainly not
// recorded" for a key it has not seen, and "maybe" otherwise, when the
// store is read. It never gives a false negative: until it covers every
// live dedupe record of the store (ready), it answers "maybe".
//
// Keys are added to the newest generation; a new one starts when that is
// full. A generation is dropped once every key in it has expired. With
// maxGens generations alive, the newest takes further keys past its
// capacity, so its false positive rate grows: more lookups read the store,
// none is answered wrongly.
type dedupeFilter struct {
	seed  [2]maphash.Seed
	ready atomic.Bool
	mu    sync.RWMutex
	gens  []*generation // oldest first
}

// generation is one bloom filter and the latest expiry of its keys.
type generation struct {
	bits   [genBits / 64]atomic.Uint64
	n      atomic.Int64
	maxExp atomic.Int64 // Unix ns
}

func newDedupeFilter() *dedupeFilter {
	return &dedupeFilter{seed: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}}
}

// hashes returns the double-hashing pair of key k.
func (f *dedupeFilter) hashes(k []byte) (uint64, uint64) {
	return maphash.Bytes(f.seed[0], k), maphash.Bytes(f.seed[1], k) | 1
}

// mayContain reports whether k may have been recorded: false only when
// the filter is ready and no generation has k's bits.
func (f *dedupeFilter) mayContain(k []byte) bool {
	if !f.ready.Load() {
		return true
	}
	h1, h2 := f.hashes(k)
	f.mu.RLock()
	defer f.mu.RUnlock()
	for _, g := range f.gens {
		if g.has(h1, h2) {
			return true
		}
	}
	return false
}

// add records k, whose record expires at exp (Unix ns).
func (f *dedupeFilter) add(k []byte, exp int64) {
	h1, h2 := f.hashes(k)
	g := f.newest()
	for i := range uint64(filterK) {
		bit := (h1 + i*h2) % genBits
		g.bits[bit/64].Or(1 << (bit % 64))
	}
	g.n.Add(1)
	for m := g.maxExp.Load(); exp > m && !g.maxExp.CompareAndSwap(m, exp); m = g.maxExp.Load() {
	}
}

// newest returns the generation to add to, starting one when the newest
// is full and fewer than maxGens are alive.
func (f *dedupeFilter) newest() *generation {
	f.mu.RLock()
	if n := len(f.gens); n > 0 && (f.gens[n-1].n.Load() < genKeys || n >= maxGens) {
		g := f.gens[n-1]
		f.mu.RUnlock()
		return g
	}
	f.mu.RUnlock()
	f.mu.Lock()
	defer f.mu.Unlock()
	if n := len(f.gens); n > 0 && (f.gens[n-1].n.Load() < genKeys || n >= maxGens) {
		return f.gens[n-1]
	}
	g := new(generation)
	f.gens = append(f.gens, g)
	return g
}

func (g *generation) has(h1, h2 uint64) bool {
	for i := range uint64(filterK) {
		bit := (h1 + i*h2) % genBits
		if g.bits[bit/64].Load()&(1<<(bit%64)) == 0 {
			return false
		}
	}
	return true
}

// expire drops the generations whose keys have all expired at now (Unix
// ns), but the newest.
func (f *dedupeFilter) expire(now int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	keep := f.gens[:0]
	for i, g := range f.gens {
		if i == len(f.gens)-1 || g.maxExp.Load() > now {
			keep = append(keep, g)
		}
	}
	clear(f.gens[len(keep):])
	f.gens = keep
}
