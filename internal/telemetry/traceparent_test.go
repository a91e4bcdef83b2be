package telemetry

import (
	"testing"

	"go.opentelemetry.io/otel/trace"
)

func TestParseTraceParent(t *testing.T) {
	const good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	for _, c := range []struct {
		in      string
		ok      bool
		sampled bool
	}{
		{good, true, true},
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", true, false},
		{"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-later", true, true}, // a later version
		{"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x", false, false},
		{good + "-x", false, false}, // version 00 has no more fields
		{"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false, false},
		{"00-00000000000000000000000000000000-00f067aa0ba902b7-01", false, false},
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", false, false},
		{"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", false, false},
		{"00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", false, false},
		{"00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false, false},
		{"", false, false},
	} {
		sc, ok := ParseTraceParent(c.in)
		if ok != c.ok || (ok && sc.IsSampled() != c.sampled) {
			t.Errorf("ParseTraceParent(%q) = sampled %v, %v; want sampled %v, %v", c.in, sc.IsSampled(), ok, c.sampled, c.ok)
			continue
		}
		if ok && (!sc.IsRemote() || sc.TraceID().String() != good[3:35] || sc.SpanID().String() != good[36:52]) {
			t.Errorf("ParseTraceParent(%q) = %v", c.in, sc)
		}
		if ok && c.in[:2] == "00" {
			if got := TraceParent(sc); got != c.in {
				t.Errorf("TraceParent(ParseTraceParent(%q)) = %q", c.in, got)
			}
		}
	}
}

func TestParseTraceParentDoesNotAllocate(t *testing.T) {
	b := []byte("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	var sc trace.SpanContext
	if n := testing.AllocsPerRun(100, func() { sc, _ = ParseTraceParent(b) }); n != 0 {
		t.Fatalf("ParseTraceParent allocates %v times", n)
	}
	_ = sc
}

func TestEnabled(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want bool
	}{
		{nil, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x", "OTEL_SDK_DISABLED": "TRUE"}, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x", "OTEL_TRACES_EXPORTER": "none"}, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x", "OTEL_TRACES_EXPORTER": "otlp"}, true},
	} {
		if got := enabled(func(k string) string { return c.env[k] }); got != c.want {
			t.Errorf("enabled(%v) = %v, want %v", c.env, got, c.want)
		}
	}
}

func BenchmarkParseTraceParent(b *testing.B) {
	v := []byte("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	b.ReportAllocs()
	for b.Loop() {
		ParseTraceParent(v)
	}
}

// A traceparent from a provider is untrusted: parsing never panics, and
// a version-00 value that parses formats back to itself.
func FuzzParseTraceParent(f *testing.F) {
	for _, s := range []string{
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-x",
		"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", "00-",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sc, ok := ParseTraceParent(s)
		if !ok {
			return
		}
		if !sc.IsValid() || !sc.IsRemote() {
			t.Fatalf("%q parsed to %v", s, sc)
		}
		if s[:2] == "00" && s[53:55] == TraceParent(sc)[53:55] && TraceParent(sc) != s {
			t.Fatalf("%q formats back as %q", s, TraceParent(sc))
		}
	})
}
