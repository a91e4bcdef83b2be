package delivery

import (
	"encoding/binary"
	"errors"
	"time"
)

// Status is a delivery's state in the spool.
type Status uint8

// The delivery states. A delivered delivery is removed from the spool.
const (
	StatusPending Status = iota // waiting for its next attempt
	StatusDead                  // schedule exhausted; listed, retryable
	StatusGone                  // the app answered 410; listed, retryable
)

// String returns the status as the admin API names it.
func (s Status) String() string {
	switch s {
	case StatusDead:
		return "dead"
	case StatusGone:
		return "gone"
	}
	return "pending"
}

// Record is one delivery as a Spool stores it: one forward of one event,
// its destination and its retry state. The forward body is stored beside
// it and read only at send time (Spool.Body).
type Record struct {
	ID           string // delivery id, the webhook-id
	EventID      string
	Env          string
	Integration  string
	ConnectionID string
	URL          string
	Dest         string // scheme://host:port, the unit of backoff and circuit state
	TraceParent  string
	Header       []byte // pass-through provider headers, AppendHeader encoding
	Created      time.Time
	Due          time.Time // next attempt (pending only)
	Attempts     int       // attempts made so far
	Base         int       // Attempts when the schedule last (re)started
	Status       Status
	LastStatus   int // HTTP status of the last attempt, 0 if none
	LastError    string
	LastAttempt  time.Time
	// Body is the forward body. A Spool stores it with the record; a
	// record it returns may leave it nil (Spool.Body reads it then).
	Body []byte
}

// first reports whether the delivery has not been attempted yet.
func (r *Record) first() bool { return r.Attempts == 0 }

const recordVersion = 2

var errCorrupt = errors.New("delivery: corrupt record")

// appendRecord appends the binary encoding of r, its body last, to dst;
// with a nil dst it allocates once, at the right size.
func appendRecord(dst []byte, r *Record) []byte {
	if dst == nil {
		n := 2 + 12*binary.MaxVarintLen64 + len(r.ID) + len(r.EventID) + len(r.Env) + len(r.Integration) +
			len(r.ConnectionID) + len(r.URL) + len(r.Dest) + len(r.TraceParent) + len(r.LastError) +
			len(r.Header) + len(r.Body)
		dst = make([]byte, 0, n)
	}
	dst = append(dst, recordVersion, byte(r.Status))
	for _, s := range [...]string{r.ID, r.EventID, r.Env, r.Integration,
		r.ConnectionID, r.URL, r.Dest, r.TraceParent, r.LastError} {
		dst = appendBytes(dst, s)
	}
	dst = appendBytes(dst, string(r.Header))
	for _, t := range [...]time.Time{r.Created, r.Due, r.LastAttempt} {
		dst = binary.AppendVarint(dst, unixNano(t))
	}
	for _, n := range [...]int{r.Attempts, r.Base, r.LastStatus} {
		dst = binary.AppendUvarint(dst, uint64(n))
	}
	return appendBytes(dst, string(r.Body))
}

func appendBytes(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// decodeRecord decodes b into a new Record without its body, which it
// returns separately: body aliases b. Nothing else retains b.
func decodeRecord(b []byte) (r *Record, body []byte, err error) {
	if len(b) < 2 || b[0] != recordVersion {
		return nil, nil, errCorrupt
	}
	d := decoder{b: b[2:]}
	r = &Record{Status: Status(b[1])}
	for _, p := range [...]*string{&r.ID, &r.EventID, &r.Env, &r.Integration,
		&r.ConnectionID, &r.URL, &r.Dest, &r.TraceParent, &r.LastError} {
		*p = string(d.field())
	}
	if h := d.field(); len(h) > 0 {
		r.Header = append([]byte(nil), h...)
	}
	for _, p := range [...]*time.Time{&r.Created, &r.Due, &r.LastAttempt} {
		*p = fromUnixNano(d.varint())
	}
	for _, p := range [...]*int{&r.Attempts, &r.Base, &r.LastStatus} {
		*p = int(d.uvarint())
	}
	body = d.field()
	if d.bad || len(d.b) != 0 {
		return nil, nil, errCorrupt
	}
	return r, body, nil
}

// decoder reads fields off b; a short read sets bad.
type decoder struct {
	b   []byte
	bad bool
}

func (d *decoder) field() []byte {
	f, rest, ok := cutField(d.b)
	if !ok {
		d.bad = true
		return nil
	}
	d.b = rest
	return f
}

func (d *decoder) varint() int64 {
	n, w := binary.Varint(d.b)
	if w <= 0 {
		d.bad = true
		return 0
	}
	d.b = d.b[w:]
	return n
}

func (d *decoder) uvarint() uint64 {
	n, w := binary.Uvarint(d.b)
	if w <= 0 {
		d.bad = true
		return 0
	}
	d.b = d.b[w:]
	return n
}
