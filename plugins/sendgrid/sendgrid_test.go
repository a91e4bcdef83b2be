package sendgrid

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgehook/edgehook/plugins/plugintest"
	"github.com/edgehook/edgehook/provider"
	"github.com/valyala/fasthttp"
)

// The published vector of @sendgrid/eventwebhook.
const (
	vectorKey = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g=="
	vectorTS  = "1600112502"
	vectorSig = "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM="
)

// testKeys are key pairs generated once, by the public key text (the
// "secret") they are configured with.
var (
	keysOnce sync.Once
	testKeys map[string]*ecdsa.PrivateKey
	current  string
	previous string
)

func keys(t testing.TB) {
	keysOnce.Do(func() {
		testKeys = map[string]*ecdsa.PrivateKey{}
		for _, p := range []*string{&current, &previous} {
			k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				panic(err)
			}
			der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
			*p = base64.StdEncoding.EncodeToString(der)
			testKeys[*p] = k
		}
	})
}

// sign builds a delivery as SendGrid sends it, signed at now with the key
// behind secret (an unknown secret signs with a fresh key).
func sign(now time.Time, secret string, body []byte) *fasthttp.Request {
	k := testKeys[secret]
	if k == nil {
		k, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	d := sha256.Sum256(append([]byte(ts), body...))
	sig, _ := ecdsa.SignASN1(rand.Reader, k, d[:])
	req := new(fasthttp.Request)
	req.Header.SetMethod("POST")
	req.SetRequestURI("/webhook/prod/sendgrid")
	req.Header.SetContentType("application/json")
	req.Header.Set("User-Agent", "SendGrid Event API")
	req.Header.Set(TimestampHeader, ts)
	req.Header.Set(SignatureHeader, base64.StdEncoding.EncodeToString(sig))
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

const routeOpts = `{"route_path":"tenant","route_field":"tenant"}`

func suiteCase(t testing.TB, opts string) plugintest.Case {
	keys(t)
	c := plugintest.Case{
		Provider: Provider{},
		Config:   provider.Config{Secret: current, PreviousSecret: previous, Options: json.RawMessage(routeOpts)},
		Sign:     sign,
		Body:     testdata(t, "batch.json"),
		Field:    "tenant",
		Keys:     []string{"acme", "globex"},
		Header:   SignatureHeader,
		Signed:   true,
		// crypto/ecdsa's verification allocates (big-number and point
		// arithmetic); the rest of the path does not.
		MaxAllocs: 16,
	}
	if opts != "" {
		c.Config.Options = json.RawMessage(opts)
		c.Timestamped = true
	}
	published := testdata(t, "published.json")
	c.Vectors = []plugintest.Vector{{
		Name:   "@sendgrid/eventwebhook published",
		Config: provider.Config{Secret: vectorKey},
		Now:    time.Unix(1600112502, 0),
		Request: func() *fasthttp.Request {
			return plugintest.NewRequest("/webhook/prod/sendgrid", "application/json", published,
				SignatureHeader, vectorSig, TimestampHeader, vectorTS)
		},
	}}
	return c
}

func TestConformance(t *testing.T) {
	t.Run("routed", func(t *testing.T) { plugintest.Run(t, suiteCase(t, "")) })
	t.Run("with tolerance", func(t *testing.T) {
		plugintest.Run(t, suiteCase(t, `{"tolerance":"10m","route_path":"tenant","route_field":"tenant"}`))
	})
}

// TestPublishedVector checks the @sendgrid/eventwebhook vector byte for
// byte, its trailing CRLF included.
func TestPublishedVector(t *testing.T) {
	inst, err := Provider{}.Provision(provider.Config{Secret: vectorKey})
	if err != nil {
		t.Fatal(err)
	}
	body := testdata(t, "published.json")
	if len(body) != 327 || !strings.HasSuffix(string(body), "]\r\n") {
		t.Fatalf("published.json is %d bytes; the vector has 327 ending in CRLF", len(body))
	}
	for _, tt := range []struct {
		name, body string
		want       bool
	}{{"vector", string(body), true}, {"without CRLF", strings.TrimSuffix(string(body), "\r\n"), false}} {
		req := new(fasthttp.Request)
		req.Header.Set(SignatureHeader, vectorSig)
		req.Header.Set(TimestampHeader, vectorTS)
		req.SetBodyString(tt.body)
		r := &provider.Request{Req: req, Now: time.Now()}
		if ok, err := inst.Verify(r); ok != tt.want || err != nil {
			t.Fatalf("%s: Verify = %v, %v", tt.name, ok, err)
		}
		var rt provider.Routing
		if err := inst.Route(r, &rt); err != nil || len(rt.Keys) != 0 || string(rt.EventType) != "dropped" || string(rt.EventID) != "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA" {
			t.Fatalf("%s: Route = %v keys %q type %q id %q", tt.name, err, rt.Keys, rt.EventType, rt.EventID)
		}
	}
}

func TestRouteSplitsBatch(t *testing.T) {
	keys(t)
	inst, _ := Provider{}.Provision(provider.Config{Secret: current, Options: json.RawMessage(routeOpts)})
	r := &provider.Request{Req: sign(time.Now(), current, testdata(t, "batch.json"))}
	var rt provider.Routing
	if err := inst.Route(r, &rt); err != nil {
		t.Fatal(err)
	}
	if len(rt.Parts) != 2 || string(rt.Keys[0]) != "acme" || string(rt.Keys[1]) != "globex" {
		t.Fatalf("keys %q, %d parts", rt.Keys, len(rt.Parts))
	}
	for i, want := range [][]string{{"processed", "open"}, {"delivered"}} {
		var evs []struct{ Event, Tenant string }
		if err := json.Unmarshal(rt.Parts[i], &evs); err != nil || len(evs) != len(want) {
			t.Fatalf("part %d %q: %v", i, rt.Parts[i], err)
		}
		for j, e := range evs {
			if e.Event != want[j] || e.Tenant != string(rt.Keys[i]) {
				t.Errorf("part %d event %d: %+v", i, j, e)
			}
		}
	}
	if !strings.HasPrefix(string(rt.EventID), "batch:") || len(rt.EventID) != 6+64 || string(rt.EventType) != "processed" {
		t.Errorf("EventID %q EventType %q", rt.EventID, rt.EventType)
	}
	// The same batch gets the same key; another order is another batch.
	var rt2 provider.Routing
	inst.Route(&provider.Request{Req: sign(time.Now(), current, testdata(t, "batch.json"))}, &rt2)
	if string(rt2.EventID) != string(rt.EventID) {
		t.Error("the same batch got another dedupe key")
	}
	swapped := strings.Replace(string(testdata(t, "batch.json")), "rbtnWrG1DVDGGGFHFyun0A==", "x", 1)
	var rt3 provider.Routing
	inst.Route(&provider.Request{Req: sign(time.Now(), current, []byte(swapped))}, &rt3)
	if string(rt3.EventID) == string(rt.EventID) {
		t.Error("another batch got the same dedupe key")
	}
	for _, b := range []string{`{"event":"open"}`, `[{"event":"open"}`, ``, `  `} {
		var rt provider.Routing
		var pe *provider.Error
		if err := inst.Route(&provider.Request{Req: sign(time.Now(), current, []byte(b))}, &rt); !errors.As(err, &pe) || pe.Status != 400 {
			t.Errorf("Route(%q) = %v; want a 400", b, err)
		}
	}
	var rt4 provider.Routing
	if err := inst.Route(&provider.Request{Req: sign(time.Now(), current, []byte(`[{"event":"open"}]`))}, &rt4); err != nil || rt4.EventID != nil {
		t.Errorf("an event without sg_event_id: Route = %v, EventID %q", err, rt4.EventID)
	}
}

func TestProvision(t *testing.T) {
	keys(t)
	for name, tt := range map[string]struct {
		cfg provider.Config
		ok  bool
	}{
		"key":            {provider.Config{Secret: vectorKey}, true},
		"two keys":       {provider.Config{Secret: vectorKey, PreviousSecret: current}, true},
		"no key":         {provider.Config{}, false},
		"not a key":      {provider.Config{Secret: "c2VjcmV0"}, false},
		"bad previous":   {provider.Config{Secret: vectorKey, PreviousSecret: "!!"}, false},
		"path alone":     {provider.Config{Secret: vectorKey, Options: json.RawMessage(`{"route_path":"a"}`)}, false},
		"bad tolerance":  {provider.Config{Secret: vectorKey, Options: json.RawMessage(`{"tolerance":"x"}`)}, false},
		"unknown option": {provider.Config{Secret: vectorKey, Options: json.RawMessage(`{"key":"x"}`)}, false},
	} {
		_, err := Provider{}.Provision(tt.cfg)
		if (err == nil) != tt.ok || err != nil && !strings.HasPrefix(err.Error(), "plugins/sendgrid: ") {
			t.Errorf("%s: Provision err = %v; want ok %v", name, err, tt.ok)
		}
	}
}

func seeds(t testing.TB) [][]byte {
	return [][]byte{testdata(t, "batch.json"), testdata(t, "published.json")}
}

func FuzzVerify(f *testing.F) { plugintest.FuzzVerify(f, suiteCase(f, ""), seeds(f)) }

func FuzzRoute(f *testing.F) { plugintest.FuzzRoute(f, suiteCase(f, ""), seeds(f)) }

func BenchmarkVerifyRoute(b *testing.B) {
	keys(b)
	inst, _ := Provider{}.Provision(provider.Config{Secret: current, Options: json.RawMessage(routeOpts)})
	r := &provider.Request{Req: sign(time.Now(), current, testdata(b, "batch.json")), Now: time.Now()}
	var rt provider.Routing
	b.ReportAllocs()
	for b.Loop() {
		rt.Reset()
		if ok, _ := inst.Verify(r); !ok {
			b.Fatal("Verify failed")
		}
		if err := inst.Route(r, &rt); err != nil {
			b.Fatal(err)
		}
	}
}
