package gitlab

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgehook/edgehook/plugins/plugintest"
	"github.com/edgehook/edgehook/provider"
	"github.com/valyala/fasthttp"
)

const (
	token    = "test-gitlab-token"
	previous = "test-gitlab-token-previous"
)

// sign builds a delivery as GitLab sends it, carrying token.
func sign(_ time.Time, token string, body []byte) *fasthttp.Request {
	req := new(fasthttp.Request)
	req.Header.SetMethod("POST")
	req.SetRequestURI("/webhook/prod/gitlab")
	req.Header.SetContentType("application/json")
	req.Header.Set("User-Agent", "GitLab/17.5.0")
	req.Header.Set("X-Gitlab-Event", "Push Hook")
	req.Header.Set("X-Gitlab-Event-UUID", "13792a34-cac6-4fda-95a8-c58e00a3954e")
	req.Header.Set("X-Gitlab-Webhook-UUID", "c3ea1a5f-2b1c-4a8d-9b9c-3c0c7d2b1e44")
	req.Header.Set("Idempotency-Key", "f5e5f430-f57b-4e6e-9fac-d9128cd7232f")
	req.Header.Set("X-Gitlab-Token", token)
	req.SetBody(body)
	return req
}

func testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func suiteCase(t testing.TB) plugintest.Case {
	return plugintest.Case{
		Provider: Provider,
		Config:   provider.Config{Secret: token, PreviousSecret: previous},
		Sign:     sign,
		Body:     testdata(t, "push.json"),
		Field:    Field,
		Keys:     []string{"15"},
		Header:   "X-Gitlab-Token",
	}
}

func TestConformance(t *testing.T) { plugintest.Run(t, suiteCase(t)) }

func TestVerify(t *testing.T) {
	inst, err := Provider.Provision(provider.Config{Secret: token, PreviousSecret: previous})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		tok  string
		want bool
	}{{token, true}, {previous, true}, {token + "x", false}, {token[:5], false}, {strings.ToUpper(token), false}, {"", false}} {
		if ok, err := inst.Verify(&provider.Request{Req: sign(time.Time{}, tt.tok, testdata(t, "push.json"))}); ok != tt.want || err != nil {
			t.Errorf("token %q: Verify = %v, %v; want %v", tt.tok, ok, err, tt.want)
		}
	}
}

func TestRoute(t *testing.T) {
	inst, _ := Provider.Provision(provider.Config{Secret: token})
	for _, tt := range []struct {
		name, body string
		key        string
		status     int
	}{
		{"push", string(testdata(t, "push.json")), "15", 0},
		{"issue", string(testdata(t, "issue.json")), "1", 0},
		{"system hook without project", `{"event_name":"user_create","user_id":41}`, "", 0},
		{"not JSON", `push`, "", 400},
	} {
		var rt provider.Routing
		err := inst.Route(&provider.Request{Req: sign(time.Time{}, token, []byte(tt.body))}, &rt)
		if tt.status != 0 {
			var pe *provider.Error
			if !errors.As(err, &pe) || pe.Status != tt.status {
				t.Errorf("%s: Route = %v", tt.name, err)
			}
			continue
		}
		if err != nil || rt.Field != Field || (tt.key == "") != (len(rt.Keys) == 0) || tt.key != "" && string(rt.Keys[0]) != tt.key {
			t.Errorf("%s: Route = %v %q %q", tt.name, err, rt.Field, rt.Keys)
		}
		if string(rt.EventType) != "Push Hook" || string(rt.EventID) != "f5e5f430-f57b-4e6e-9fac-d9128cd7232f" {
			t.Errorf("%s: EventType %q EventID %q", tt.name, rt.EventType, rt.EventID)
		}
	}
}

func TestProvision(t *testing.T) {
	for name, tt := range map[string]struct {
		cfg provider.Config
		ok  bool
	}{
		"token":          {provider.Config{Secret: "t"}, true},
		"no token":       {provider.Config{}, false},
		"unknown option": {provider.Config{Secret: "t", Options: json.RawMessage(`{"header":"X"}`)}, false},
	} {
		_, err := Provider.Provision(tt.cfg)
		if (err == nil) != tt.ok || err != nil && !strings.HasPrefix(err.Error(), "plugins/gitlab: ") {
			t.Errorf("%s: Provision err = %v; want ok %v", name, err, tt.ok)
		}
	}
}

func seeds(t testing.TB) [][]byte {
	return [][]byte{testdata(t, "push.json"), testdata(t, "issue.json")}
}

func FuzzVerify(f *testing.F) { plugintest.FuzzVerify(f, suiteCase(f), seeds(f)) }

func FuzzRoute(f *testing.F) { plugintest.FuzzRoute(f, suiteCase(f), seeds(f)) }
