package matchers

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestCompilePath(t *testing.T) {
	for _, bad := range []string{"", ".", "a.", ".a", "a..b", "a.[0]", "a[0].b"} {
		if _, err := CompilePath(bad); err == nil {
			t.Errorf("CompilePath(%q) accepted", bad)
		}
	}
	p, err := CompilePath("data.items.0.id")
	if err != nil {
		t.Fatal(err)
	}
	if p.String() != "data.items.0.id" || p.IsZero() {
		t.Errorf("String = %q, IsZero = %v", p.String(), p.IsZero())
	}
	if !(Path{}).IsZero() {
		t.Error("zero Path is not zero")
	}
}

func readJSON(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "json", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPathText(t *testing.T) {
	nested := readJSON(t, "nested.json")
	push := readJSON(t, "github_push.json")
	streak := readJSON(t, "streak_array.json")
	tests := []struct {
		body []byte
		path string
		want string
		ok   bool
	}{
		{push, "installation.id", "1001", true},
		{push, "repository.owner.login", "octocat", true},
		{push, "commits.0.message", "Update README.md\n\nWith \"quotes\" and \\ backslash", true},
		{push, "installation.missing", "", false},
		{push, "commits.1.id", "", false},
		{streak, "0.event", "BOX_CREATE", true},
		{streak, "1.box.stageKey", "5002", true},
		{streak, "0.box.name", "Acme été", true},
		{nested, "data.items.0.id", "a", true},
		{nested, "data.items.1.id", "b\"\\/\b\f\n\r\tA😀", true},
		{nested, "data.items.1.ok", "true", true},
		{nested, "data.items.1.n", "-1.5e3", true},
		{nested, "data.id", "", false},     // null
		{nested, "data.obj.id", "", false}, // object
		{nested, "data.items", "", false},  // array
		{nested, "id", "top", true},
		{nested, "data2.1.1.1.x", "y", true},
		{nested, "k\"ey", "escaped key", true},
		{[]byte(`{"a":"x"}`), "a.b", "", false},
		{[]byte(`{"a":`), "a", "", false},
		{[]byte(``), "a", "", false},
		{[]byte(`[1,2]`), "a", "", false},
		{[]byte(`{"a":"bad \x escape"}`), "a", "", false},
	}
	for _, tt := range tests {
		got, ok := MustCompilePath(tt.path).Text(tt.body, nil)
		if ok != tt.ok || string(got) != tt.want {
			t.Errorf("Text(%.30q, %q) = %q, %v; want %q, %v", tt.body, tt.path, got, ok, tt.want, tt.ok)
		}
	}
}

func TestPathTextDst(t *testing.T) {
	p := MustCompilePath("a")
	dst := make([]byte, 0, 64)
	got, ok := p.Text([]byte(`{"a":"x\ty"}`), dst)
	if !ok || string(got) != "x\ty" || &got[0] != &dst[:1][0] {
		t.Errorf("escaped value not written into dst: %q %v", got, ok)
	}
	body := []byte(`{"a":"plain"}`)
	got, _ = p.Text(body, dst)
	if &got[0] != &body[6] {
		t.Error("unescaped value copied instead of borrowed")
	}
}

func TestPathKey(t *testing.T) {
	p := MustCompilePath("installation.id")
	tests := []struct {
		body string
		want string
		err  error
	}{
		{`{"installation":{"id":1001}}`, "1001", nil},
		{`{"installation":{"id":"1001"}}`, "1001", nil},
		{`{"installation":{"id":""}}`, "", nil},
		{`{"installation":null}`, "", nil},
		{`{"zen":"ok"}`, "", nil},
		{`[]`, "", nil},
		{`{"installation":{"id":1001}`, "", ErrNotJSON},
		{`{"installation":{"id":1001}} x`, "", ErrNotJSON},
		{``, "", ErrNotJSON},
		{`payload=%7B%7D`, "", ErrNotJSON},
	}
	for _, tt := range tests {
		got, err := p.Key([]byte(tt.body), nil)
		if string(got) != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("Key(%q) = %q, %v; want %q, %v", tt.body, got, err, tt.want, tt.err)
		}
		if tt.want == "" && got != nil {
			t.Errorf("Key(%q) = %q; want nil", tt.body, got)
		}
	}
}

func TestPathAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	push := readJSON(t, "github_push.json")
	nested := readJSON(t, "nested.json")
	id := MustCompilePath("installation.id")
	item := MustCompilePath("data.items.1.id")
	dst := make([]byte, 0, 64)
	a := testing.AllocsPerRun(200, func() {
		if _, err := id.Key(push, nil); err != nil {
			t.Fatal(err)
		}
		if _, ok := item.Text(nested, dst); !ok {
			t.Fatal("not found")
		}
	})
	if a != 0 {
		t.Errorf("Path lookups allocate %v times per run; want 0", a)
	}
}

func BenchmarkPathKey(b *testing.B) {
	push := readJSON(b, "github_push.json")
	p := MustCompilePath("installation.id")
	b.SetBytes(int64(len(push)))
	b.ReportAllocs()
	for b.Loop() {
		if v, _ := p.Key(push, nil); v == nil {
			b.Fatal("not found")
		}
	}
}
