package telemetry

import (
	"encoding/hex"

	"go.opentelemetry.io/otel/trace"
)

// traceParentLen is the length of a version-00 traceparent value:
// 00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>.
const traceParentLen = 55

// ParseTraceParent parses a W3C traceparent header value into a remote
// span context. It reports false for a malformed value: a version other
// than two lowercase hex digits or "ff", a version-00 value of another
// length, ids that are not lowercase hex or are all zero. A later
// version's value is read by its first 55 bytes, as the recommendation
// says. It does not allocate.
func ParseTraceParent[T ~string | ~[]byte](v T) (trace.SpanContext, bool) {
	if len(v) < traceParentLen || v[2] != '-' || v[35] != '-' || v[52] != '-' {
		return trace.SpanContext{}, false
	}
	var ver [1]byte
	var tid trace.TraceID
	var sid trace.SpanID
	var flags [1]byte
	if !decodeLower(ver[:], v[0:2]) || ver[0] == 0xff || (ver[0] == 0 && len(v) != traceParentLen) ||
		(len(v) > traceParentLen && v[traceParentLen] != '-') ||
		!decodeLower(tid[:], v[3:35]) || !decodeLower(sid[:], v[36:52]) || !decodeLower(flags[:], v[53:55]) ||
		!tid.IsValid() || !sid.IsValid() {
		return trace.SpanContext{}, false
	}
	return trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: tid, SpanID: sid, TraceFlags: trace.TraceFlags(flags[0]) & trace.FlagsSampled, Remote: true,
	}), true
}

// decodeLower decodes the lowercase hex src into dst, len(src) = 2×len(dst).
func decodeLower[T ~string | ~[]byte](dst []byte, src T) bool {
	for i := range dst {
		hi, ok1 := nibble(src[2*i])
		lo, ok2 := nibble(src[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func nibble(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// AppendTraceParent appends sc as a version-00 traceparent value to dst.
func AppendTraceParent(dst []byte, sc trace.SpanContext) []byte {
	tid, sid := sc.TraceID(), sc.SpanID()
	dst = append(dst, "00-"...)
	dst = hex.AppendEncode(dst, tid[:])
	dst = append(dst, '-')
	dst = hex.AppendEncode(dst, sid[:])
	dst = append(dst, '-')
	return hex.AppendEncode(dst, []byte{byte(sc.TraceFlags())})
}

// TraceParent returns sc as a version-00 traceparent value.
func TraceParent(sc trace.SpanContext) string {
	var b [traceParentLen]byte
	return string(AppendTraceParent(b[:0], sc))
}
