package delivery

import (
	"math/rand/v2"
	"time"
)

// Retry-After bounds (SPEC §6).
const (
	minRetryAfter = time.Second
	maxRetryAfter = 10 * time.Hour
)

// nextDelay returns the delay before the next attempt of a delivery that
// has made attempts attempts since its schedule started at base, and false
// when the schedule is exhausted. A Retry-After (retryAfter > 0) replaces
// the step's delay, bounded to [1s, 10h] and not jittered.
func (s *Service) nextDelay(attempts, base int, retryAfter time.Duration) (time.Duration, bool) {
	step := attempts - base - 1
	if step < 0 || step >= len(s.opts.Schedule) {
		return 0, false
	}
	if retryAfter > 0 {
		return min(max(retryAfter, minRetryAfter), maxRetryAfter), true
	}
	return jitter(s.opts.Schedule[step], s.opts.Jitter), true
}

// jitter spreads d uniformly by ±frac.
func jitter(d time.Duration, frac float64) time.Duration {
	if frac <= 0 {
		return d
	}
	return time.Duration(float64(d) * (1 + frac*(2*rand.Float64()-1)))
}

// scheduleSpan is how long a delivery's retry schedule lasts: every delay,
// and every attempt taking its whole timeout. A delivery not delivered by
// then, however few attempts it got (its destination's circuit kept it
// waiting), is dead-lettered.
func scheduleSpan(o Options) time.Duration {
	span := time.Duration(len(o.Schedule)+1) * o.AttemptTimeout
	for _, d := range o.Schedule {
		span += time.Duration(float64(d) * (1 + o.Jitter))
	}
	return span
}
