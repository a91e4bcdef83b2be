package sender

import (
	"net/http"
	"strconv"
	"time"
)

// ParseRetryAfter reads a Retry-After value, delay-seconds or an HTTP
// date; it returns 0 when v is empty or malformed, and at least 1ns for a
// date in the past (the caller bounds it).
func ParseRetryAfter(v []byte, now time.Time) time.Duration {
	if len(v) == 0 {
		return 0
	}
	if n, err := strconv.ParseUint(string(v), 10, 32); err == nil {
		return max(time.Duration(n)*time.Second, 1)
	}
	t, err := http.ParseTime(string(v))
	if err != nil {
		return 0
	}
	return max(t.Sub(now), 1)
}
