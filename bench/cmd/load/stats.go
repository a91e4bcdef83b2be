package main

import (
	"fmt"
	"slices"
	"time"
)

func sortDurations(d []time.Duration) { slices.Sort(d) }

// pct returns the q-quantile (0..1) of sorted d, 0 when empty.
func pct(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[min(int(q*float64(len(d))), len(d)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (r *result) print(name string) {
	fmt.Printf("%-28s %9.0f req/s  p50 %6.2fms  p99 %6.2fms  p99.9 %6.2fms  errors %d\n",
		name, r.rps(), ms(pct(r.lat, 0.5)), ms(pct(r.lat, 0.99)), ms(pct(r.lat, 0.999)), r.errors)
}
