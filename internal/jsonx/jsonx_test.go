package jsonx

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// FuzzAppendString checks AppendString agrees with encoding/json on what
// the string decodes to.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "q\"b\\", "\x00\x1f\x7f", "\u2028\u2029", "\xff\xfe", "caf\u00e9 😀"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := AppendString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q encodes to invalid JSON %s: %v", s, b, err)
		}
		want := s
		if !utf8.ValidString(s) {
			want = string([]rune(s)) // invalid bytes become U+FFFD, as encoding/json does
		}
		if got != want {
			t.Fatalf("%q round-trips to %q", s, got)
		}
	})
}

// TestAppendBytes checks AppendBytes writes what AppendString does, and
// does not copy its input.
func TestAppendBytes(t *testing.T) {
	for _, s := range []string{"", "plain", "q\"b\\\n", "\xff", "caf\u00e9"} {
		if got, want := AppendBytes([]byte("x"), []byte(s)), AppendString([]byte("x"), s); string(got) != string(want) {
			t.Errorf("AppendBytes(%q) = %s; want %s", s, got, want)
		}
	}
	src, dst := []byte(`a "quoted" value`), make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { dst = AppendBytes(dst[:0], src) }); n != 0 {
		t.Errorf("AppendBytes allocates %v times", n)
	}
}
