package pubsub

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgehook/edgehook/plugins/plugintest"
	"github.com/edgehook/edgehook/provider"
	"github.com/valyala/fasthttp"
)

const (
	audience = "https://hooks.example.com/webhook/prod/pubsub"
	account  = "push@myproject.iam.gserviceaccount.com"
	sub      = "projects/myproject/subscriptions/mysubscription"
)

var (
	keyOnce sync.Once
	key     *rsa.PrivateKey
	jwks    *httptest.Server
)

// setup generates the test key and serves it as a JWKS on 127.0.0.1 for
// the whole test binary.
func setup(t testing.TB) {
	keyOnce.Do(func() {
		var err error
		if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		set, _ := json.Marshal(map[string]any{"keys": []map[string]string{{
			"kty": "RSA", "kid": "test-kid", "use": "sig", "alg": "RS256",
			"n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes()),
		}}})
		jwks = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write(set) }))
	})
}

func opts(extra string) json.RawMessage {
	return json.RawMessage(`{"audience":"` + audience + `","service_account":"` + account + `","jwks_url":"` + jwks.URL + `"` + extra + `}`)
}

// token signs an ID token as Google would for a push to audience, issued
// at now and valid 5 minutes (Google's last an hour; shorter makes the
// stale cases of the suite meaningful).
func token(now time.Time, claims map[string]any) string {
	c := map[string]any{"aud": audience, "azp": "1", "email": account, "email_verified": true,
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "iss": "https://accounts.google.com", "sub": "1"}
	for k, v := range claims {
		c[k] = v
	}
	cb, _ := json.Marshal(c)
	in := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","kid":"test-kid","typ":"JWT"}`)) + "." + base64.RawURLEncoding.EncodeToString(cb)
	d := sha256.Sum256([]byte(in))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, d[:])
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func sign(now time.Time, _ string, body []byte) *fasthttp.Request {
	req := new(fasthttp.Request)
	req.Header.SetMethod("POST")
	req.SetRequestURI("/webhook/prod/pubsub")
	req.Header.SetContentType("application/json")
	req.Header.Set("User-Agent", "APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)")
	req.Header.Set("Authorization", "Bearer "+token(now, nil))
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
	setup(t)
	return plugintest.Case{
		Provider:    Provider{},
		Config:      provider.Config{Options: opts("")},
		Sign:        sign,
		Body:        testdata(t, "push.json"),
		Field:       Field,
		Keys:        []string{sub},
		Header:      "Authorization",
		Timestamped: true,
		Now:         time.Now(),
		// crypto/rsa's verification allocates (big-number arithmetic); the
		// token parsing and claim checks do not.
		MaxAllocs: 16,
	}
}

func TestConformance(t *testing.T) { plugintest.Run(t, suiteCase(t)) }

func provision(t *testing.T, extra string) provider.Instance {
	t.Helper()
	setup(t)
	inst, err := Provider{}.Provision(provider.Config{Options: opts(extra)})
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

func TestVerify(t *testing.T) {
	in := provision(t, "")
	now := time.Now()
	tests := []struct {
		name string
		auth string
		want bool
	}{
		{"valid", "Bearer " + token(now, nil), true},
		{"short issuer", "Bearer " + token(now, map[string]any{"iss": "accounts.google.com"}), true},
		{"other audience", "Bearer " + token(now, map[string]any{"aud": "https://evil.example"}), false},
		{"other service account", "Bearer " + token(now, map[string]any{"email": "x@myproject.iam.gserviceaccount.com"}), false},
		{"email not verified", "Bearer " + token(now, map[string]any{"email_verified": false}), false},
		{"other issuer", "Bearer " + token(now, map[string]any{"iss": "https://accounts.example.com"}), false},
		{"expired", "Bearer " + token(now.Add(-10*time.Minute), nil), false},
		{"expired within skew", "Bearer " + token(now.Add(-5*time.Minute-10*time.Second), nil), true},
		{"no bearer", token(now, nil), false},
		{"garbage", "Bearer a.b.c", false},
		{"missing", "", false},
	}
	for _, tt := range tests {
		req := sign(now, "", testdata(t, "push.json"))
		req.Header.Set("Authorization", tt.auth)
		if ok, err := in.Verify(&provider.Request{Req: req, Now: now}); ok != tt.want || err != nil {
			t.Errorf("%s: Verify = %v, %v; want %v", tt.name, ok, err, tt.want)
		}
	}
}

func TestRoute(t *testing.T) {
	bySub := provision(t, "")
	byAttr := provision(t, `,"route_attribute":"tenant","event_type_attribute":"eventType"`)
	byAttrField := provision(t, `,"route_attribute":"tenant","route_field":"tenant_id"`)
	tests := []struct {
		name                string
		inst                provider.Instance
		file                string
		field, key, id, typ string
	}{
		{"subscription", bySub, "push.json", Field, sub, "2070443601311540", ""},
		{"docs example", bySub, "plain.json", Field, sub, "136969346945", ""},
		{"attribute", byAttr, "push.json", "tenant", "acme", "2070443601311540", "OBJECT_FINALIZE"},
		{"attribute, other field", byAttrField, "push.json", "tenant_id", "acme", "2070443601311540", ""},
		{"attribute absent", byAttr, "plain.json", "tenant", "", "136969346945", ""},
	}
	for _, tt := range tests {
		var rt provider.Routing
		if err := tt.inst.Route(&provider.Request{Req: sign(time.Now(), "", testdata(t, tt.file))}, &rt); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var key string
		if len(rt.Keys) == 1 {
			key = string(rt.Keys[0])
		}
		if rt.Field != tt.field || key != tt.key || string(rt.EventID) != tt.id || string(rt.EventType) != tt.typ || rt.Payload != nil {
			t.Errorf("%s: field %q keys %q id %q type %q", tt.name, rt.Field, rt.Keys, rt.EventID, rt.EventType)
		}
	}
	for _, b := range []string{`[]`, `{"subscription":"s"}`, `{"message":"x"}`, `{"message":{}`, ``} {
		var rt provider.Routing
		var pe *provider.Error
		if err := bySub.Route(&provider.Request{Req: sign(time.Now(), "", []byte(b))}, &rt); !errors.As(err, &pe) || pe.Status != 400 {
			t.Errorf("Route(%q) = %v; want a 400", b, err)
		}
	}
}

func TestProvision(t *testing.T) {
	setup(t)
	for name, tt := range map[string]struct {
		cfg provider.Config
		ok  bool
	}{
		"options":           {provider.Config{Options: opts("")}, true},
		"skew":              {provider.Config{Options: opts(`,"skew":"1m"`)}, true},
		"issuers":           {provider.Config{Options: opts(`,"issuers":["https://accounts.google.com"]`)}, true},
		"secret":            {provider.Config{Secret: "s", Options: opts("")}, false},
		"no options":        {provider.Config{}, false},
		"no audience":       {provider.Config{Options: json.RawMessage(`{"service_account":"a@b"}`)}, false},
		"no account":        {provider.Config{Options: json.RawMessage(`{"audience":"a"}`)}, false},
		"http jwks":         {provider.Config{Options: json.RawMessage(`{"audience":"a","service_account":"a@b","jwks_url":"http://example.com/certs"}`)}, false},
		"bad skew":          {provider.Config{Options: opts(`,"skew":"1h"`)}, false},
		"empty issuer list": {provider.Config{Options: opts(`,"issuers":[]`)}, false},
		"unknown option":    {provider.Config{Options: opts(`,"secret":"x"`)}, false},
	} {
		_, err := Provider{}.Provision(tt.cfg)
		if (err == nil) != tt.ok || err != nil && !strings.HasPrefix(err.Error(), "plugins/pubsub: ") {
			t.Errorf("%s: Provision err = %v; want ok %v", name, err, tt.ok)
		}
	}
}

func seeds(t testing.TB) [][]byte {
	return [][]byte{testdata(t, "push.json"), testdata(t, "plain.json")}
}

func FuzzVerify(f *testing.F) { plugintest.FuzzVerify(f, suiteCase(f), seeds(f)) }

func FuzzRoute(f *testing.F) { plugintest.FuzzRoute(f, suiteCase(f), seeds(f)) }

func BenchmarkVerifyRoute(b *testing.B) {
	setup(b)
	inst, err := Provider{}.Provision(provider.Config{Options: opts("")})
	if err != nil {
		b.Fatal(err)
	}
	r := &provider.Request{Req: sign(time.Now(), "", testdata(b, "push.json")), Now: time.Now()}
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
