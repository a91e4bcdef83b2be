package matchers

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestFirstString(t *testing.T) {
	tests := []struct {
		body, key string
		want      string
		ok        bool
	}{
		{`{"self":"https://a.atlassian.net/rest/api/2/issue/1"}`, "self", "https://a.atlassian.net/rest/api/2/issue/1", true},
		{`{"issue":{"self":"https://a/1","fields":{"self":"https://b/2"}},"self":"https://c/3"}`, "self", "https://a/1", true},
		{`{"user":{"avatar":{"self":"https://first"}},"issue":{"self":"https://second"}}`, "self", "https://first", true},
		{`{"self":{"nested":1},"x":{"self":"https://s"}}`, "self", "https://s", true},
		{`{"self":1,"y":"self","self2":"no"}`, "self", "", false},
		{`{"d":"a \"self\": \"https://fake\"","self":"https://real"}`, "self", "https://real", true},
		{`{"d":"\\","self":"https://real"}`, "self", "https://real", true},
		{`{"s\u0065lf":"https:\/\/escaped"}`, "self", "https://escaped", true},
		{`[{"a":[{"self" : "https://spaced"}]}]`, "self", "https://spaced", true},
		{`{"selfie":"x","self":"y"}`, "self", "y", true},
		{`["self","self"]`, "self", "", false},
		{`{}`, "self", "", false},
		{`{"self":"`, "self", "", false},
		{`"self`, "self", "", false},
	}
	for _, tt := range tests {
		got, ok := FirstString([]byte(tt.body), tt.key, nil)
		if ok != tt.ok || string(got) != tt.want {
			t.Errorf("FirstString(%s, %q) = %q, %v; want %q, %v", tt.body, tt.key, got, ok, tt.want, tt.ok)
		}
	}
	body := []byte(`{"issue":{"id":"1","self":"https://acme.atlassian.net/rest/api/2/issue/1"}}`)
	if n := testing.AllocsPerRun(100, func() { FirstString(body, "self", nil) }); n != 0 {
		t.Errorf("FirstString allocates %v times", n)
	}
}

// firstStringOracle finds the first member named key with a string value
// using encoding/json's token stream, which yields members in document
// order.
func firstStringOracle(t *testing.T, body []byte, key string) (string, bool) {
	d := json.NewDecoder(bytes.NewReader(body))
	type frame struct{ obj, wantKey bool }
	var stack []frame
	pendingKey := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return "", false
		}
		if err != nil {
			t.Fatalf("oracle on valid JSON: %v", err)
		}
		top := len(stack) - 1
		if name, isKey := tok.(string); isKey && top >= 0 && stack[top].obj && stack[top].wantKey {
			stack[top].wantKey = false
			pendingKey = name == key
			continue
		}
		if pendingKey {
			if s, ok := tok.(string); ok {
				return s, true
			}
		}
		pendingKey = false
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{obj: true, wantKey: true})
			continue
		case json.Delim('['):
			stack = append(stack, frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		if top = len(stack) - 1; top >= 0 && stack[top].obj {
			stack[top].wantKey = true
		}
	}
}

// FuzzFirstString compares FirstString with the encoding/json token
// stream on valid documents, and checks it never panics on the rest.
func FuzzFirstString(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "json", "*.json"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "id")
		f.Add(b, "self")
	}
	f.Add([]byte(`{"issue":{"self":"https://a/1"},"self":"https://b"}`), "self")
	f.Add([]byte(`{"s\u0065lf":"x\ty"}`), "self")
	f.Fuzz(func(t *testing.T, body []byte, key string) {
		got, ok := FirstString(body, key, nil)
		if !json.Valid(body) {
			return
		}
		want, wok := firstStringOracle(t, body, key)
		if ok != wok || ok && string(got) != want && !bytes.ContainsRune([]byte(want), 0xfffd) {
			t.Fatalf("FirstString(%q, %q) = %q, %v; encoding/json says %q, %v", body, key, got, ok, want, wok)
		}
	})
}
