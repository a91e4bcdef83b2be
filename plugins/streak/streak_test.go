package streak

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/edgehook/edgehook/plugins/plugintest"
	"github.com/edgehook/edgehook/provider"
	"github.com/valyala/fasthttp"
)

const testToken = "5f3c2a1e-test-token"

// sign builds a delivery as Streak sends it; there is no secret, the token
// is the credential.
func sign(_ time.Time, _ string, body []byte) *fasthttp.Request {
	req := new(fasthttp.Request)
	req.Header.SetMethod("POST")
	req.SetRequestURI("/webhook/prod/streak")
	req.Header.SetContentType("application/json")
	req.Header.Set(Header, testToken)
	req.SetBody(body)
	return req
}

// testdata reads a file of testdata/.
var testdata = plugintest.Testdata

func suiteCase(t testing.TB) plugintest.Case {
	return plugintest.Case{
		Provider: Provider{},
		Sign:     sign,
		Body:     testdata(t, "box_create.json"),
		Field:    Field,
		Keys:     []string{testToken},
		Header:   Header,
	}
}

func TestConformance(t *testing.T) { plugintest.Run(t, suiteCase(t)) }

func TestVerify(t *testing.T) {
	inst, err := Provider{}.Provision(provider.Config{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		token *string
		want  bool
	}{
		{"token", ptr(testToken), true},
		{"any token (checked by connection lookup)", ptr("unknown"), true},
		{"empty", ptr(""), false},
		{"missing", nil, false},
	}
	for _, tt := range tests {
		req := sign(time.Time{}, "", testdata(t, "box_create.json"))
		req.Header.Del(Header)
		if tt.token != nil {
			req.Header.Set(Header, *tt.token)
		}
		if ok, err := inst.Verify(&provider.Request{Req: req}); ok != tt.want || err != nil {
			t.Errorf("%s: Verify = %v, %v; want %v", tt.name, ok, err, tt.want)
		}
	}
}

func ptr(s string) *string { return &s }

func TestRoute(t *testing.T) {
	inst, err := Provider{}.Provision(provider.Config{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		body   []byte
		status int
	}{
		{"array", testdata(t, "box_create.json"), 0},
		{"array of two", testdata(t, "stage_change.json"), 0},
		{"object", testdata(t, "comment_create.json"), 0},
		{"not JSON", []byte("event=BOX_CREATE"), 400},
		{"truncated", []byte(`[{"event":"BOX_CREATE"`), 400},
		{"empty", nil, 400},
	}
	for _, tt := range tests {
		r := &provider.Request{Req: sign(time.Time{}, "", tt.body)}
		var rt provider.Routing
		err := inst.Route(r, &rt)
		if tt.status != 0 {
			var pe *provider.Error
			if !errors.As(err, &pe) || pe.Status != tt.status {
				t.Errorf("%s: Route = %v; want status %d", tt.name, err, tt.status)
			}
			continue
		}
		if err != nil || rt.Field != Field || len(rt.Keys) != 1 || string(rt.Keys[0]) != testToken {
			t.Errorf("%s: Route = %v, Field %q, Keys %q", tt.name, err, rt.Field, rt.Keys)
		}
		if rt.Payload != nil {
			t.Errorf("%s: Payload set; the body must be forwarded verbatim", tt.name)
		}
	}
}

func TestProvision(t *testing.T) {
	tests := []struct {
		name string
		cfg  provider.Config
		ok   bool
	}{
		{"no secret", provider.Config{}, true},
		{"empty options", provider.Config{Options: json.RawMessage(`{}`)}, true},
		{"secret", provider.Config{Secret: "s"}, false},
		{"previous secret", provider.Config{PreviousSecret: "p"}, false},
		{"unknown option", provider.Config{Options: json.RawMessage(`{"token":"x"}`)}, false},
	}
	for _, tt := range tests {
		_, err := Provider{}.Provision(tt.cfg)
		if (err == nil) != tt.ok {
			t.Errorf("%s: Provision err = %v; want ok %v", tt.name, err, tt.ok)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "plugins/streak: ") {
			t.Errorf("%s: error %q lacks the package prefix", tt.name, err)
		}
	}
}

func TestSecretConfigFields(t *testing.T) {
	reg, err := provider.NewRegistry([]provider.Provider{Provider{}})
	if err != nil {
		t.Fatal(err)
	}
	if got := reg.SecretConfigFields("streak"); len(got) != 1 || got[0] != Field {
		t.Errorf("SecretConfigFields = %q; want [%q]", got, Field)
	}
}

func seeds(t testing.TB) [][]byte {
	return [][]byte{testdata(t, "box_create.json"), testdata(t, "stage_change.json"), testdata(t, "comment_create.json")}
}

func FuzzVerify(f *testing.F) { plugintest.FuzzVerify(f, suiteCase(f), seeds(f)) }

func FuzzRoute(f *testing.F) { plugintest.FuzzRoute(f, suiteCase(f), seeds(f)) }
