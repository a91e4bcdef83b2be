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

// newDeliveryID returns a delivery id (the webhook-id). An event with a
// dedupe key gets an id derived from its identity and the dedupe window it
// falls in (now / window): a duplicate accepted by another gateway
// instance within the same window gets the same id, so the app can drop
// it; the same key seen again after its window expired falls in a later
// window, so it never collides with a delivery of the first event that is
// still pending. Otherwise the id is random.
func newDeliveryID(ev *Event, t *Target, now time.Time) string {
	var b [16]byte
	if ev.DedupeKey == "" || ev.DedupeTTL <= 0 {
		rand.Read(b[:])
		return idEncoding.EncodeToString(b[:])
	}
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	h.Write(n[:binary.PutUvarint(n[:], uint64(now.UnixNano()/int64(ev.DedupeTTL)))])
	for _, s := range [...]string{ev.Env, ev.Integration, ev.DedupeKey, t.ConnectionID, t.URL, t.Kind.String(), t.SyncName} {
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
