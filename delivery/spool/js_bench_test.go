package spool

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkJetStreamAppend: one event, one delivery with its body
// inline and a dedupe record, on the package's three servers (R3), in
// parallel.
func BenchmarkJetStreamAppend(b *testing.B) {
	sp := openJS(b, jsTestOptions(b))
	var n atomic.Int64
	now := time.Now()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			ev := "ba" + strconv.FormatInt(n.Add(1), 10)
			bt := withDedupe(batch(ev, `{"payload":"1 KiB in production"}`, now, destA), "github", ev, now, time.Hour)
			if _, err := sp.Append(bt); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkJetStreamLeaseAck: lease one ready delivery and acknowledge
// it (what one successful attempt costs the spool), in parallel.
func BenchmarkJetStreamLeaseAck(b *testing.B) {
	sp := openJS(b, jsTestOptions(b))
	now := time.Now()
	for i := range b.N {
		mustAppend(b, sp, batch("bl"+strconv.Itoa(i), "{}", now, destA))
	}
	b.ReportAllocs()
	b.ResetTimer()
	var left atomic.Int64
	left.Store(int64(b.N))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			for {
				ds, _, err := sp.Lease(destA, time.Now(), 1, time.Minute)
				if err != nil {
					b.Fatal(err)
				}
				if len(ds) == 0 {
					if left.Load() <= 0 {
						return
					}
					time.Sleep(100 * time.Microsecond)
					continue
				}
				if err := sp.Ack(ds[0], Attempt{At: now, Status: 200}, nil); err != nil {
					b.Fatal(err)
				}
				left.Add(-1)
				break
			}
		}
	})
}
