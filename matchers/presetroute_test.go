package matchers

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/edgehook/edgehook/provider"
)

func routeKeys(t testing.TB, header, path, body string, headers ...string) ([]string, error) {
	t.Helper()
	p, err := compileRoute(header, path)
	if err != nil {
		t.Fatalf("compileRoute(%q, %q): %v", header, path, err)
	}
	var rt provider.Routing
	if err := p.add(newReq("POST", body, unix1700, headers...), []byte(body), &rt); err != nil {
		return nil, err
	}
	var keys []string
	for _, k := range rt.Keys {
		keys = append(keys, string(k))
	}
	return keys, nil
}

func TestPresetRoute(t *testing.T) {
	xero := `{"events":[{"tenantId":"t1","eventCategory":"INVOICE"},{"tenantId":"t2"},{"tenantId":"t1"},{"x":1},{"tenantId":null},{"tenantId":""}],"entropy":"e"}`
	tests := []struct {
		name, header, path, body string
		headers                  []string
		want                     []string
	}{
		{"path", "", "installation.id", `{"installation":{"id":1001}}`, nil, []string{"1001"}},
		{"path absent", "", "installation.id", `{}`, nil, nil},
		{"no route", "", "", `{"a":1}`, nil, nil},
		{"header", "X-Account", "", `{}`, []string{"X-Account", "42"}, []string{"42"}},
		{"header absent", "X-Account", "", `{}`, nil, nil},
		{"each, distinct, skipping keyless", "", "events.*.tenantId", xero, nil, []string{"t1", "t2"}},
		{"each of an empty array", "", "events.*.tenantId", `{"events":[]}`, nil, nil},
		{"each of a non-array", "", "events.*.tenantId", `{"events":{"tenantId":"t1"}}`, nil, nil},
		{"each element itself", "", "list_folder.accounts.*", `{"list_folder":{"accounts":["dbid:A","dbid:B","dbid:A",7,true,null,{}]}}`, nil, []string{"dbid:A", "dbid:B", "7", "true"}},
		{"each escaped element", "", "a.*", `{"a":["x\u0041y"]}`, nil, []string{"xAy"}},
		{"top-level array", "", "*.portalId", `[{"portalId":1},{"portalId":2},{"portalId":1}]`, nil, []string{"1", "2"}},
		{"nested after the star", "", "entry.*.id", `{"entry":[{"id":"p1","changes":[{"id":"no"}]},{"id":"p2"}]}`, nil, []string{"p1", "p2"}},
		{"index after the star", "", "a.*.0", `{"a":[["x","y"],["z"],[]]}`, nil, []string{"x", "z"}},
	}
	for _, tt := range tests {
		got, err := routeKeys(t, tt.header, tt.path, tt.body, tt.headers...)
		if err != nil || strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%s: keys %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
	for _, body := range []string{``, `{`, `{"events":[}`, `not json`} {
		if _, err := routeKeys(t, "", "events.*.tenantId", body); err != ErrNotJSON {
			t.Errorf("body %q: err %v; want ErrNotJSON", body, err)
		}
		if _, err := routeKeys(t, "X-Account", "", body); err != ErrNotJSON {
			t.Errorf("header route, body %q: err %v; want ErrNotJSON", body, err)
		}
	}
}

func TestPresetRouteMaxKeys(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"a":[`)
	for i := range MaxRouteKeys + 10 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"k` + strings.Repeat("x", i%7) + string(rune('A'+i%26)) + string(rune('a'+i/26)) + `"`)
	}
	b.WriteString(`]}`)
	keys, err := routeKeys(t, "", "a.*", b.String())
	if err != nil || len(keys) != MaxRouteKeys {
		t.Fatalf("%d keys, %v; want %d", len(keys), err, MaxRouteKeys)
	}
}

func TestCompileRouteErrors(t *testing.T) {
	for _, tt := range []struct{ header, path string }{
		{"X-A", "a.b"},
		{"", "a.*.b.*"},
		{"", "*.*"},
		{"", "a..b"},
		{"", "a.*."},
		{"", "a[0].*"},
	} {
		if _, err := compileRoute(tt.header, tt.path); err == nil {
			t.Errorf("compileRoute(%q, %q) succeeded; want an error", tt.header, tt.path)
		}
	}
}

func TestPresetRouteAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	body := `{"events":[{"tenantId":"t1"},{"tenantId":"t2"},{"tenantId":"t1"}]}`
	p, err := compileRoute("", "events.*.tenantId")
	if err != nil {
		t.Fatal(err)
	}
	r := newReq("POST", body, unix1700)
	var rt provider.Routing
	n := testing.AllocsPerRun(200, func() {
		rt.Reset()
		if err := p.add(r, r.Body(), &rt); err != nil || len(rt.Keys) != 2 {
			t.Fatalf("add: %v, %d keys", err, len(rt.Keys))
		}
	})
	if n != 0 {
		t.Errorf("add allocates %v times per run; want 0", n)
	}
}

// FuzzPresetRoute compares "*" routes with encoding/json on valid documents
// without duplicate keys, and checks they never panic on the rest.
func FuzzPresetRoute(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "json", "*.json"))
	routes := lines(f, filepath.Join("json", "routes.txt"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, p := range routes {
			f.Add(b, p)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, route string) {
		p, err := compileRoute("", route)
		if err != nil {
			return
		}
		var rt provider.Routing
		err = p.add(newReq("POST", string(body), unix1700), body, &rt)
		if err != nil || !p.each || hasDuplicateKeys(body) {
			return
		}
		want := eachOracle(t, body, p)
		if len(want) > MaxRouteKeys {
			want = want[:MaxRouteKeys]
		}
		if len(rt.Keys) != len(want) {
			t.Fatalf("route %q on %q: keys %q; encoding/json says %q", route, body, rt.Keys, want)
		}
		for i, k := range rt.Keys {
			if string(k) != want[i] && utf8.Valid(k) && !strings.ContainsRune(want[i], utf8.RuneError) {
				t.Fatalf("route %q on %q: key %d = %q; encoding/json says %q", route, body, i, k, want[i])
			}
		}
	})
}

// eachOracle lists the distinct non-empty keys of a "*" route with
// encoding/json.
func eachOracle(t *testing.T, body []byte, p presetRoute) []string {
	v := decodeAny(t, body)
	if !p.top {
		var ok bool
		if v, ok = navigate(v, p.path.keys); !ok {
			return nil
		}
	}
	arr, _ := v.([]any)
	var out []string
	seen := map[string]bool{}
	for _, e := range arr {
		if !p.elem.IsZero() {
			switch e.(type) {
			case map[string]any, []any:
			default:
				continue
			}
		}
		x, ok := navigate(e, p.elem.keys)
		if !ok {
			continue
		}
		s, ok := scalar(x)
		if ok && s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func BenchmarkPresetRouteEach(b *testing.B) {
	body := []byte(`{"events":[{"resourceUrl":"https://api.xero.com/api.xro/2.0/Invoices/1","resourceId":"1","eventDateUtc":"2023-11-14T22:13:20.000","eventType":"UPDATE","eventCategory":"INVOICE","tenantId":"t1","tenantType":"ORGANISATION"},{"resourceUrl":"https://api.xero.com/api.xro/2.0/Contacts/2","resourceId":"2","eventDateUtc":"2023-11-14T22:13:21.000","eventType":"CREATE","eventCategory":"CONTACT","tenantId":"t2","tenantType":"ORGANISATION"}],"firstEventSequence":1,"lastEventSequence":2,"entropy":"S0m3r4Nd0mt3xt"}`)
	p, err := compileRoute("", "events.*.tenantId")
	if err != nil {
		b.Fatal(err)
	}
	r := newReq("POST", string(body), unix1700)
	var rt provider.Routing
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		rt.Reset()
		if err := p.add(r, body, &rt); err != nil || len(rt.Keys) != 2 {
			b.Fatal("add failed")
		}
	}
}
