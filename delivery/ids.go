package delivery

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"encoding/hex"
	"time"
)

// idEncoding is lowercase Crockford-like base32 without padding: ids sort
// as their bytes do.
var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// newEventID returns a random, time-sortable event id: 48 bits of Unix
// milliseconds then 80 random bits, 26 characters.
func newEventID(now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	rand.Read(b[6:])
	return idEncoding.EncodeToString(b[:])
}

// newDeliveryID returns a delivery id (the webhook-id). With a dedupe key
// it is derived from the event's identity so that a duplicate accepted by
// another gateway instance gets the same id; otherwise it is random.
func newDeliveryID(ev *Event, f *Forward) string {
	var b [16]byte
	if ev.DedupeKey == "" {
		rand.Read(b[:])
		return idEncoding.EncodeToString(b[:])
	}
	h := sha256.New()
	for _, s := range [...]string{ev.Env, ev.Integration, ev.DedupeKey, f.ConnectionID, f.URL} {
		var n [binary.MaxVarintLen64]byte
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(s)))])
		h.Write([]byte(s))
	}
	return idEncoding.EncodeToString(h.Sum(nil)[:16])
}

// newTraceParent returns a fresh W3C traceparent with the sampled flag.
func newTraceParent() string {
	var b [24]byte
	rand.Read(b[:])
	buf := make([]byte, 0, 55)
	buf = append(buf, "00-"...)
	buf = hex.AppendEncode(buf, b[:16])
	buf = append(buf, '-')
	buf = hex.AppendEncode(buf, b[16:])
	return string(append(buf, "-01"...))
}
