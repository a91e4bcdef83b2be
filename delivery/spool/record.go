package spool

import (
	"bytes"
	"encoding/binary"
	"errors"
	"time"
)

// recordVersion is the first byte of every encoded delivery.
const recordVersion = 3

// Record flags (the fourth byte).
const (
	flagBlob   = 1 << 0 // the body is in a blob file
	flagInline = 1 << 1 // the body's value is in the record
)

var errCorrupt = errors.New("spool: corrupt record")

// appendDelivery appends the binary encoding of d to dst; with a nil dst
// it allocates once, at the right size.
func appendDelivery(dst []byte, d *Delivery) []byte {
	if dst == nil {
		n := 4 + 20*binary.MaxVarintLen64 + len(d.ID) + len(d.EventID) + len(d.Env) + len(d.Integration) +
			len(d.Provider) + len(d.ConnectionID) + len(d.SyncName) + len(d.Model) + len(d.URL) +
			len(d.Dest) + len(d.TraceParent) + len(d.Reason)
		for _, a := range d.History {
			n += 4*binary.MaxVarintLen64 + len(a.Error)
		}
		dst = make([]byte, 0, n)
	}
	flags := byte(0)
	if d.blob {
		flags |= flagBlob
	}
	if d.inline != nil {
		flags |= flagInline
	}
	dst = append(dst, recordVersion, byte(d.Status), byte(d.Kind), flags)
	for _, s := range [...]string{d.ID, d.EventID, d.Env, d.Integration, d.Provider, d.ConnectionID,
		d.SyncName, d.Model, d.URL, d.Dest, d.TraceParent, d.Reason} {
		dst = appendString(dst, s)
	}
	for _, t := range [...]time.Time{d.Received, d.Created, d.Due, d.Expires} {
		dst = binary.AppendVarint(dst, unixNano(t))
	}
	for _, n := range [...]int{d.Part, d.Attempts, d.Base, d.refs, d.moves, len(d.History)} {
		dst = binary.AppendUvarint(dst, uint64(n))
	}
	dst = binary.AppendUvarint(dst, uint64(max(d.bsize, 0)))
	if d.inline != nil {
		dst = appendBytes(dst, d.inline)
	}
	for _, a := range d.History {
		dst = binary.AppendVarint(dst, unixNano(a.At))
		dst = binary.AppendUvarint(dst, uint64(max(a.Duration, 0)))
		dst = binary.AppendUvarint(dst, uint64(max(a.Status, 0)))
		dst = appendString(dst, a.Error)
	}
	return dst
}

// decodeDelivery decodes b into a new Delivery; nothing retains b.
func decodeDelivery(b []byte) (*Delivery, error) {
	if len(b) < 4 || b[0] != recordVersion || b[3]&^(flagBlob|flagInline) != 0 {
		return nil, errCorrupt
	}
	r := reader{b: b[4:]}
	d := &Delivery{Status: Status(b[1]), Kind: Kind(b[2]), blob: b[3]&flagBlob != 0}
	for _, p := range [...]*string{&d.ID, &d.EventID, &d.Env, &d.Integration, &d.Provider, &d.ConnectionID,
		&d.SyncName, &d.Model, &d.URL, &d.Dest, &d.TraceParent, &d.Reason} {
		*p = string(r.field())
	}
	for _, p := range [...]*time.Time{&d.Received, &d.Created, &d.Due, &d.Expires} {
		*p = fromUnixNano(r.varint())
	}
	var nh int
	for _, p := range [...]*int{&d.Part, &d.Attempts, &d.Base, &d.refs, &d.moves, &nh} {
		*p = int(r.uvarint())
	}
	d.bsize = int64(r.uvarint())
	if b[3]&flagInline != 0 {
		d.inline = bytes.Clone(r.field())
		if d.inline == nil {
			d.inline = []byte{}
		}
	}
	if nh > MaxHistory || r.bad {
		return nil, errCorrupt
	}
	if nh > 0 {
		d.History = make([]Attempt, nh)
	}
	for i := range d.History {
		a := &d.History[i]
		a.At = fromUnixNano(r.varint())
		a.Duration = time.Duration(r.uvarint())
		a.Status = int(r.uvarint())
		a.Error = string(r.field())
	}
	if r.bad || len(r.b) != 0 || d.Status > StatusGone || d.Kind > KindSync {
		return nil, errCorrupt
	}
	return d, nil
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendBytes(dst, s []byte) []byte {
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

// reader reads fields off b; a short or malformed read sets bad.
type reader struct {
	b   []byte
	bad bool
}

// field reads a uvarint-length-prefixed field, aliasing b.
func (r *reader) field() []byte {
	n, w := binary.Uvarint(r.b)
	if w <= 0 || uint64(len(r.b)-w) < n {
		r.bad = true
		return nil
	}
	f := r.b[w : w+int(n)]
	r.b = r.b[w+int(n):]
	return f
}

func (r *reader) varint() int64 {
	n, w := binary.Varint(r.b)
	if w <= 0 {
		r.bad = true
		return 0
	}
	r.b = r.b[w:]
	return n
}

func (r *reader) uvarint() uint64 {
	n, w := binary.Uvarint(r.b)
	if w <= 0 {
		r.bad = true
		return 0
	}
	r.b = r.b[w:]
	return n
}
