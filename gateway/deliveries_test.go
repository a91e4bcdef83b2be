package gateway

import (
	"strings"
	"testing"
)

// A bulk retry's body is 1 to 100 distinct non-empty ids, or an error;
// nothing else it is given makes it panic or return an empty list.
func FuzzRetryIDs(f *testing.F) {
	for _, s := range []string{`{"ids":["a","b","a"]}`, `{"ids":[]}`, `{"ids":[""]}`, `{"ids":null}`, `[]`, ``, `{"ids":["a"]}{}`,
		`{"ids":["` + strings.Repeat("x", 129) + `"]}`, `{"ids":[` + strings.Repeat(`"a",`, 100) + `"b"]}`, `{"ids":[1]}`, `{"x":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ids, err := parseRetryIDs(body)
		if err != nil {
			if ids != nil {
				t.Fatalf("ids %q with error %v", ids, err)
			}
			return
		}
		if len(ids) == 0 || len(ids) > maxBulkRetry {
			t.Fatalf("%d ids from %q", len(ids), body)
		}
		seen := map[string]bool{}
		for _, id := range ids {
			if id == "" || len(id) > 128 || seen[id] {
				t.Fatalf("id %q in %q", id, ids)
			}
			seen[id] = true
		}
	})
}
