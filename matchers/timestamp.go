package matchers

import (
	"fmt"
	"time"
)

// TimestampFormat is how a signed timestamp is written.
type TimestampFormat string

// Timestamp formats. RFC3339 accepts fractional seconds; parsing it may
// allocate, the Unix forms do not.
const (
	UnixSeconds TimestampFormat = "unix"
	UnixMillis  TimestampFormat = "unix_ms"
	RFC3339     TimestampFormat = "rfc3339"
	// Opaque is a timestamp signed as sent and never parsed: it must be
	// present, and there is no replay window (Zendesk).
	Opaque TimestampFormat = "opaque"
)

// timestampCheck checks a timestamp against a tolerance.
type timestampCheck struct {
	format TimestampFormat
	tol    time.Duration
}

func newTimestampCheck(f TimestampFormat, tol time.Duration) (timestampCheck, error) {
	switch f {
	case "":
		f = UnixSeconds
	case UnixSeconds, UnixMillis, RFC3339, Opaque:
	default:
		return timestampCheck{}, fmt.Errorf("matchers: unknown timestamp format %q (want unix, unix_ms or rfc3339)", string(f))
	}
	if tol < 0 {
		return timestampCheck{}, fmt.Errorf("matchers: negative tolerance %s", tol)
	}
	if tol == 0 {
		tol = DefaultTolerance
	}
	return timestampCheck{format: f, tol: tol}, nil
}

// fresh reports whether ts is well formed and within the tolerance of now
// (the current time when now is zero).
func (c timestampCheck) fresh(ts []byte, now time.Time) bool {
	if c.format == Opaque {
		return len(ts) > 0
	}
	t, ok := c.parse(ts)
	if !ok {
		return false
	}
	if now.IsZero() {
		now = time.Now()
	}
	d := now.Sub(t)
	return d <= c.tol && d >= -c.tol
}

func (c timestampCheck) parse(ts []byte) (time.Time, bool) {
	if c.format == RFC3339 {
		t, err := time.Parse(time.RFC3339, string(ts))
		return t, err == nil
	}
	n, ok := parseUint(ts)
	if !ok {
		return time.Time{}, false
	}
	if c.format == UnixMillis {
		return time.UnixMilli(n), true
	}
	return time.Unix(n, 0), true
}

// parseUint parses a non-empty decimal of at most 18 digits.
func parseUint(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}
