package delivery

import (
	"encoding/binary"
	"time"
)

// The Pebble keyspace. Every key starts with a one-byte table tag.
//
//	q<dest>\x00<class><due:8><id>          → record and body   pending queue; class '0' first attempt, '1' retry
//	x<env>\x00<id>                         → record and body   dead letters (dead, gone)
//	k<len env><env><len integ><integ><key> → <expires:8><event id>   dedupe
//	K<expires:8><dedupe key without k>     → ""   dedupe expiry index
//
// A delivery is one key: appending it writes one, finishing it deletes
// one. Queue and dead-letter keys are written once and removed with
// SingleDelete, so a delivery written and finished within one memtable
// leaves nothing behind when the memtable is flushed. Times are big-endian
// Unix nanoseconds, so keys sort by time.
const (
	tagQueue      = 'q'
	tagDead       = 'x'
	tagDedupe     = 'k'
	tagDedupeTime = 'K'
)

// queuePrefix is the queue prefix of dest's deliveries of one class.
func queuePrefix(dest string, first bool) []byte {
	k := make([]byte, 0, len(dest)+3)
	k = append(k, tagQueue)
	k = append(k, dest...)
	class := byte('1')
	if first {
		class = '0'
	}
	return append(k, 0, class)
}

// queueSuffix is r's queue key after its prefix: due time, then id. Scan
// cursors are suffixes.
func queueSuffix(r *Record) []byte {
	k := make([]byte, 0, 8+len(r.ID))
	k = binary.BigEndian.AppendUint64(k, uint64(unixNano(r.Due)))
	return append(k, r.ID...)
}

func queueKey(r *Record) []byte {
	return append(queuePrefix(r.Dest, r.first()), queueSuffix(r)...)
}

// parseQueueKey returns the due time and delivery id of a queue key whose
// prefix has length n.
func parseQueueKey(k []byte, n int) (time.Time, string, bool) {
	if len(k) < n+8 {
		return time.Time{}, "", false
	}
	due := int64(binary.BigEndian.Uint64(k[n : n+8]))
	return fromUnixNano(due), string(k[n+8:]), true
}

// deadKey is the dead-letter key of delivery id of env.
func deadKey(env, id string) []byte {
	k := make([]byte, 0, 2+len(env)+len(id))
	k = append(k, tagDead)
	k = append(k, env...)
	k = append(k, 0)
	return append(k, id...)
}

// stateKey is where r is stored in its status.
func stateKey(r *Record) []byte {
	if r.Status == StatusPending {
		return queueKey(r)
	}
	return deadKey(r.Env, r.ID)
}

// dedupeSuffix is the dedupe key without its tag.
func dedupeSuffix(d *Dedupe) []byte {
	k := appendBytes(nil, d.Env)
	k = appendBytes(k, d.Integration)
	return append(k, d.Key...)
}

// prefixEnd returns the smallest key greater than every key with prefix p.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
