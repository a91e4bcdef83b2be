package spool

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"time"
)

// The Pebble keyspace. Every key starts with a one-byte table tag.
//
//	q<dest>\x00<class><due:8><id>  → delivery   pending queue; class '0' first attempts, '1' retries
//	x<env>\x00<id>                 → delivery   dead letters (dead, gone)
//	X<dead at:8><env>\x00<id>      → ""         dead letters by age, for retention
//	r<id>                          → key        where delivery id's record is (a q or x key)
//	b<event>\x00<part>             → body       headers and payload, or a reference to a blob file
//	n<event>\x00<part>             → uvarint    deliveries still needing a shared body
//	k<env><integ><key>             → <expires:8><event id>   dedupe (env and integ length-prefixed)
//	K<expires:8><dedupe suffix>    → ""         dedupe records by expiry
//
// Keys written once and removed once are removed with SingleDelete, so
// that a delivery written and finished within one memtable leaves nothing
// when the memtable is flushed: queue keys (a new due time is a new key),
// bodies, dead-letter keys, and an r key never rewritten. Times are
// big-endian Unix nanoseconds, so keys sort by time.
const (
	tagQueue      = 'q'
	tagDead       = 'x'
	tagDeadAge    = 'X'
	tagRef        = 'r'
	tagBody       = 'b'
	tagBodyRefs   = 'n'
	tagDedupe     = 'k'
	tagDedupeTime = 'K'
)

// Queue classes: first attempts sort, and are leased, before retries.
const (
	classFirst = 0
	classRetry = 1
)

func classOf(d *Delivery) int {
	if d.First() {
		return classFirst
	}
	return classRetry
}

// queuePrefix is the prefix of dest's queue of class cl.
func queuePrefix(dest string, cl int) []byte {
	k := make([]byte, 0, len(dest)+3)
	k = append(k, tagQueue)
	k = append(k, dest...)
	return append(k, 0, '0'+byte(cl))
}

// queueSuffix is the part of a queue key after its prefix: due time, then
// id; it orders one class of one destination.
func queueSuffix(due time.Time, id string) []byte {
	k := make([]byte, 0, 8+len(id))
	k = binary.BigEndian.AppendUint64(k, uint64(unixNano(due)))
	return append(k, id...)
}

func queueKey(d *Delivery) []byte {
	return append(queuePrefix(d.Dest, classOf(d)), queueSuffix(d.Due, d.ID)...)
}

// parseSuffix returns the due time and id of a queue key suffix.
func parseSuffix(s []byte) (time.Time, string, bool) {
	if len(s) <= 8 {
		return time.Time{}, "", false
	}
	return fromUnixNano(int64(binary.BigEndian.Uint64(s[:8]))), string(s[8:]), true
}

func deadKey(env, id string) []byte {
	k := make([]byte, 0, 2+len(env)+len(id))
	k = append(k, tagDead)
	k = append(k, env...)
	k = append(k, 0)
	return append(k, id...)
}

func deadAgeKey(at time.Time, env, id string) []byte {
	k := make([]byte, 0, 10+len(env)+len(id))
	k = append(k, tagDeadAge)
	k = binary.BigEndian.AppendUint64(k, uint64(unixNano(at)))
	k = append(k, env...)
	k = append(k, 0)
	return append(k, id...)
}

func refKey(id string) []byte { return append([]byte{tagRef}, id...) }

// stateKey is where d's record lives in its status.
func stateKey(d *Delivery) []byte {
	if d.Status == StatusPending {
		return queueKey(d)
	}
	return deadKey(d.Env, d.ID)
}

func bodyKey(tag byte, event string, part int) []byte {
	k := make([]byte, 0, 4+len(event))
	k = append(k, tag)
	k = append(k, event...)
	k = append(k, 0)
	return binary.AppendUvarint(k, uint64(part))
}

// blobName is the file name of a body kept in a blob file.
func blobName(event string, part int) string { return event + "." + strconv.Itoa(part) }

// dedupeSuffix is a dedupe key without its tag.
func dedupeSuffix(d *Dedupe) []byte {
	k := appendString(nil, d.Env)
	k = appendString(k, d.Integration)
	return append(k, d.Key...)
}

// prefixEnd returns the smallest key greater than every key with prefix p.
func prefixEnd(p []byte) []byte {
	end := bytes.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
