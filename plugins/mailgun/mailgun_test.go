package mailgun

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgehook/edgehook/plugins/plugintest"
	"github.com/edgehook/edgehook/provider"
	"github.com/valyala/fasthttp"
)

// The PROVIDERS.md vector, as it appears in the testdata bodies.
const (
	vectorKey   = "mailgun-signing-key"
	vectorToken = "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0"
	vectorSig   = `{"timestamp":"1700000000","token":"` + vectorToken + `","signature":"7a55c57fd31861af38a6a9afd2f78d68855211784fdf86e174bd75524c4397fc"}`
	previousKey = "mailgun-signing-key-previous"
)

var vectorTime = time.Unix(1700000000, 0)

// sign re-signs the body's signature object at now with key, as Mailgun
// would send it; a body without the vector's object is sent as is.
func sign(now time.Time, key string, body []byte) *fasthttp.Request {
	ts := strconv.FormatInt(now.Unix(), 10)
	h := hmac.New(sha256.New, []byte(key))
	h.Write([]byte(ts + vectorToken))
	obj := `{"timestamp":"` + ts + `","token":"` + vectorToken + `","signature":"` + hex.EncodeToString(h.Sum(nil)) + `"}`
	req := new(fasthttp.Request)
	req.Header.SetMethod("POST")
	req.SetRequestURI("/webhook/prod/mailgun")
	req.Header.SetContentType("application/json")
	req.Header.Set("User-Agent", "mailgun/treq-16.12.0")
	req.SetBody([]byte(strings.Replace(string(body), vectorSig, obj, 1)))
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
		Provider: Provider{},
		Config: provider.Config{Secret: vectorKey, PreviousSecret: previousKey,
			Options: json.RawMessage(`{"route_path":"event-data.user-variables.tenant","route_field":"tenant"}`)},
		Sign:        sign,
		Body:        testdata(t, "delivered.json"),
		Field:       "tenant",
		Keys:        []string{"acme"},
		Timestamped: true,
		Vectors: []plugintest.Vector{{
			Name:   "PROVIDERS.md constructed",
			Config: provider.Config{Secret: vectorKey},
			Now:    vectorTime,
			Request: func() *fasthttp.Request {
				return plugintest.NewRequest("/webhook/prod/mailgun", "application/json", testdata(t, "delivered.json"))
			},
		}},
	}
}

func TestConformance(t *testing.T) { plugintest.Run(t, suiteCase(t)) }

// TestVector checks the testdata bodies, which carry the PROVIDERS.md
// vector unchanged, at the vector's time.
func TestVector(t *testing.T) {
	inst, err := Provider{}.Provision(provider.Config{Secret: vectorKey})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"delivered.json", "failed.json"} {
		req := new(fasthttp.Request)
		req.SetBody(testdata(t, name))
		for _, tt := range []struct {
			now  time.Time
			want bool
		}{{vectorTime, true}, {vectorTime.Add(14 * time.Minute), true}, {vectorTime.Add(16 * time.Minute), false}} {
			if ok, err := inst.Verify(&provider.Request{Req: req, Now: tt.now}); ok != tt.want || err != nil {
				t.Errorf("%s at %v: Verify = %v, %v; want %v", name, tt.now, ok, err, tt.want)
			}
		}
	}
	req := new(fasthttp.Request)
	req.SetBody([]byte(strings.Replace(string(testdata(t, "delivered.json")), vectorToken, strings.ToUpper(vectorToken), 1)))
	if ok, _ := inst.Verify(&provider.Request{Req: req, Now: vectorTime}); ok {
		t.Error("a changed token verified")
	}
}

func TestRoute(t *testing.T) {
	routed, _ := Provider{}.Provision(suiteCase(t).Config)
	plain, _ := Provider{}.Provision(provider.Config{Secret: vectorKey})
	for _, tt := range []struct {
		name         string
		inst         provider.Instance
		file         string
		key, typ, id string
	}{
		{"delivered", routed, "delivered.json", "acme", "delivered", "CPgfbmQMTCKtHW6uIWtuVe"},
		{"failed", routed, "failed.json", "globex", "failed", "G9Bn5sl1TC6nu79C8C0bwg"},
		{"no routing options", plain, "delivered.json", "", "delivered", "CPgfbmQMTCKtHW6uIWtuVe"},
	} {
		var rt provider.Routing
		if err := tt.inst.Route(&provider.Request{Req: sign(time.Now(), vectorKey, testdata(t, tt.file))}, &rt); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var key string
		if len(rt.Keys) == 1 {
			key = string(rt.Keys[0])
		}
		if key != tt.key || len(rt.Keys) > 1 || string(rt.EventType) != tt.typ || string(rt.EventID) != tt.id {
			t.Errorf("%s: keys %q type %q id %q", tt.name, rt.Keys, rt.EventType, rt.EventID)
		}
	}
	var rt provider.Routing
	var pe *provider.Error
	if err := routed.Route(&provider.Request{Req: sign(time.Now(), vectorKey, []byte("timestamp=1"))}, &rt); !errors.As(err, &pe) || pe.Status != 400 {
		t.Errorf("form body: Route = %v; want a 400", err)
	}
}

func TestProvision(t *testing.T) {
	for name, tt := range map[string]struct {
		opts string
		ok   bool
	}{
		"none":           {"", true},
		"tolerance":      {`{"tolerance":"5m"}`, true},
		"bad tolerance":  {`{"tolerance":"0s"}`, false},
		"path alone":     {`{"route_path":"a"}`, false},
		"bad path":       {`{"route_path":"a..b","route_field":"f"}`, false},
		"unknown option": {`{"header":"x"}`, false},
	} {
		cfg := provider.Config{Secret: vectorKey}
		if tt.opts != "" {
			cfg.Options = json.RawMessage(tt.opts)
		}
		_, err := Provider{}.Provision(cfg)
		if (err == nil) != tt.ok || err != nil && !strings.HasPrefix(err.Error(), "plugins/mailgun: ") {
			t.Errorf("%s: Provision err = %v; want ok %v", name, err, tt.ok)
		}
	}
	if _, err := (Provider{}).Provision(provider.Config{}); err == nil {
		t.Error("no signing key accepted")
	}
}

func seeds(t testing.TB) [][]byte {
	return [][]byte{testdata(t, "delivered.json"), testdata(t, "failed.json")}
}

func FuzzVerify(f *testing.F) { plugintest.FuzzVerify(f, suiteCase(f), seeds(f)) }

func FuzzRoute(f *testing.F) { plugintest.FuzzRoute(f, suiteCase(f), seeds(f)) }
