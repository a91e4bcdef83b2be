package matchers

import (
	"strings"
	"testing"

	"github.com/edgehook/edgehook/provider"
)

func TestSplitArray(t *testing.T) {
	key := MustCompilePath("k")
	tests := []struct {
		name, body string
		keys       []string
		parts      []string
	}{
		{"one key: no parts", `[{"k":"a"},{"k":"a"}]`, []string{"a"}, nil},
		{"two keys", `[{"k":"a","n":1},{"k":2},{"k":"a","n":3}]` + "\r\n", []string{"a", "2"},
			[]string{`[{"k":"a","n":1},{"k":"a","n":3}]` + "\r\n", `[{"k":2}]` + "\r\n"}},
		{"keyless item is in no part", `[{"k":"a"},{"x":1},{"k":"b"}]`, []string{"a", "b"}, []string{`[{"k":"a"}]`, `[{"k":"b"}]`}},
		{"escaped key", `[{"k":"a\u0062"},{"k":"c"}]`, []string{"ab", "c"}, []string{`[{"k":"a\u0062"}]`, `[{"k":"c"}]`}},
		{"empty", `[]`, nil, nil},
	}
	for _, tt := range tests {
		var rt provider.Routing
		n := SplitArray(&rt, []byte(tt.body), 0, len(strings.TrimRight(tt.body, "\r\n")), key)
		var keys, parts []string
		for _, k := range rt.Keys {
			keys = append(keys, string(k))
		}
		for _, p := range rt.Parts {
			parts = append(parts, string(p))
		}
		if strings.Join(keys, "|") != strings.Join(tt.keys, "|") || strings.Join(parts, "|") != strings.Join(tt.parts, "|") || n != strings.Count(tt.body, "{") {
			t.Errorf("%s: %d items, keys %q parts %q", tt.name, n, keys, parts)
		}
	}
}

func TestCompileRoute(t *testing.T) {
	if p, err := CompileRoute("", ""); err != nil || !p.IsZero() {
		t.Errorf("no route: %v", err)
	}
	if p, err := CompileRoute("a.b", "f"); err != nil || p.String() != "a.b" {
		t.Errorf("route: %v", err)
	}
	for _, c := range [][2]string{{"a", ""}, {"", "f"}, {"a..b", "f"}} {
		if _, err := CompileRoute(c[0], c[1]); err == nil {
			t.Errorf("CompileRoute(%q, %q) accepted", c[0], c[1])
		}
	}
	if _, err := PositiveDuration("tolerance", "0s"); err == nil {
		t.Error("zero duration accepted")
	}
}
