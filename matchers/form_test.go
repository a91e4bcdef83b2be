package matchers

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/valyala/fasthttp"
)

func TestAppendFormObject(t *testing.T) {
	tests := []struct{ form, want string }{
		{"", `{}`},
		{"team_id=T1&command=%2Fdo&text=", `{"team_id":"T1","command":"/do","text":""}`},
		{"text=a+b%26c%3D%22q%22", `{"text":"a b&c=\"q\""}`},
		{"a=1&a=2&b=3", `{"a":"1","b":"3"}`},
		{"flag&x=%0A", `{"flag":"","x":"\n"}`},
		{"bad=%ff", `{"bad":"\ufffd"}`},
		{"k%22=v", `{"k\"":"v"}`},
	}
	for _, tt := range tests {
		var args fasthttp.Args
		args.Parse(tt.form)
		if got := string(AppendFormObject(nil, &args)); got != tt.want {
			t.Errorf("AppendFormObject(%q) = %s; want %s", tt.form, got, tt.want)
		}
	}
	// Past smallForm fields a map finds the repeats.
	var b strings.Builder
	for i := range 3 * smallForm {
		b.WriteString("f" + string(rune('A'+i%40)) + "=v&")
	}
	var args fasthttp.Args
	args.Parse(b.String())
	var m map[string]string
	if err := json.Unmarshal(AppendFormObject(nil, &args), &m); err != nil || len(m) != 40 {
		t.Errorf("large form: %d fields, %v; want 40", len(m), err)
	}
	args.Parse("team_id=T1&command=%2Fdo&text=hello+world")
	dst := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { dst = AppendFormObject(dst[:0], &args) }); n != 0 {
		t.Errorf("AppendFormObject allocates %v times", n)
	}
}

// FuzzFormObject checks AppendFormObject always writes a JSON object
// holding each field's first value.
func FuzzFormObject(f *testing.F) {
	f.Add(slackBody)
	f.Add("payload=%7B%22a%22%3A1%7D")
	f.Add("a=1&a=2&%ff=%00")
	f.Fuzz(func(t *testing.T, form string) {
		var args fasthttp.Args
		args.Parse(form)
		out := AppendFormObject(nil, &args)
		var m map[string]string
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("form %q gave invalid JSON %s: %v", form, out, err)
		}
		for k := range args.All() {
			// Invalid UTF-8 becomes U+FFFD, which may merge names.
			if !utf8.Valid(k) || !utf8.Valid(args.Peek(string(k))) || bytes.ContainsRune(k, utf8.RuneError) {
				continue
			}
			if got, ok := m[string(k)]; !ok || got != string(args.Peek(string(k))) {
				t.Fatalf("form %q: field %q = %q, %v; want %q", form, k, got, ok, args.Peek(string(k)))
			}
		}
	})
}
