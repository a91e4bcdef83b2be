package spool

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"strconv"
	"strings"
)

// The JetStream layout. One stream (Options.Stream, "EDGEHOOK") holds
// every delivery, body and dedupe record, each on a subject of its own
// (the stream keeps one message per subject, so a write to a subject
// replaces what it held); the prefix p is the stream name in lowercase.
//
//	p.q.<dest>.f.<id>    a delivery's first attempt, due
//	p.q.<dest>.r.<id>    a retry, due
//	p.s.<dest>.<id>      a retry waiting for its time: a scheduled message
//	                     the servers publish to p.q.<dest>.r.<id> when due
//	p.x.<env>.<id>       a dead letter (dead or gone)
//	p.b.<body>.<n>       piece n of a body several deliveries share, or too
//	                     large to travel in its delivery's record
//	p.k.<key>            a dedupe record, removed by the servers at its TTL
//
// <dest>, <env> and <key> are hashes (jsToken); ids and body names are
// tokens already. The stream is a work queue: each destination has two
// pull consumers, f-<dest> and r-<dest>, filtered on its two queues, so
// that one destination's backlog never stands in front of another's, and
// first attempts are fetched before retries. Acknowledging a delivery
// removes it. The stream republishes the headers of every due delivery on
// p.w.…, which the delivering instances subscribe to (Watch).
//
// A second stream (Stream+"_REFS", counters) holds p.n.<body>: how many
// deliveries still need a shared body.
type jsSubjects struct{ p string }

// Queue class tokens, by classFirst and classRetry.
var jsClass = [2]string{"f", "r"}

func (s jsSubjects) queue(dtok string, cl int, id string) string {
	return s.p + ".q." + dtok + "." + jsClass[cl] + "." + id
}

func (s jsSubjects) queueFilter(dtok string, cl int) string {
	return s.p + ".q." + dtok + "." + jsClass[cl] + ".*"
}

func (s jsSubjects) queued(id string) string        { return s.p + ".q.*.*." + id }
func (s jsSubjects) sched(dtok, id string) string   { return s.p + ".s." + dtok + "." + id }
func (s jsSubjects) schedOf(id string) string       { return s.p + ".s.*." + id }
func (s jsSubjects) schedFilter(dtok string) string { return s.p + ".s." + dtok + ".*" }
func (s jsSubjects) dead(etok, id string) string    { return s.p + ".x." + etok + "." + id }
func (s jsSubjects) deadFilter(etok string) string  { return s.p + ".x." + etok + ".*" }
func (s jsSubjects) body(bref string, n int) string {
	return s.p + ".b." + bref + "." + strconv.Itoa(n)
}
func (s jsSubjects) bodyAll(bref string) string { return s.p + ".b." + bref + ".>" }
func (s jsSubjects) dedupe(ktok string) string  { return s.p + ".k." + ktok }
func (s jsSubjects) refs(bref string) string    { return s.p + ".n." + bref }

// pending reports whether subject holds a pending delivery.
func (s jsSubjects) pending(subject string) bool {
	rest, ok := strings.CutPrefix(subject, s.p+".")
	return ok && (strings.HasPrefix(rest, "q.") || strings.HasPrefix(rest, "s."))
}

// stream lists the main stream's subjects.
func (s jsSubjects) stream() []string {
	return []string{s.p + ".q.>", s.p + ".s.>", s.p + ".x.>", s.p + ".b.>", s.p + ".k.>"}
}

// Message headers the spool sets.
const (
	jsHdrDest = "Eh-Dest" // a delivery's destination (read from the republished headers)
	jsHdrBody = "Eh-Body" // the body a delivery names, when not inline
)

// jsTokenEncoding is lowercase base32 without padding: a subject token.
var jsTokenEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// jsToken is a subject token for parts: 80 bits of their SHA-256, each
// part length-prefixed (a collision is checked for where it matters: the
// record names its destination and environment).
func jsToken(bits int, parts ...string) string {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	for _, p := range parts {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(p)))])
		h.Write([]byte(p))
	}
	return jsTokenEncoding.EncodeToString(h.Sum(nil)[:bits/8])
}

func destToken(dest string) string { return jsToken(80, dest) }
func envToken(env string) string   { return jsToken(80, env) }
func dedupeToken(d *Dedupe) string { return jsToken(160, d.Env, d.Integration, d.Key) }

// validToken reports whether s can be a subject token: not empty, no
// dot, wildcard or white space.
func validToken(s string) bool {
	return s != "" && !strings.ContainsAny(s, ".*> \t\r\n")
}
