package twilio

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/edgehook/edgehook/plugins/plugintest"
	"github.com/edgehook/edgehook/provider"
	"github.com/valyala/fasthttp"
)

const (
	token     = "test-auth-token"
	previous  = "test-auth-token-previous"
	publicURL = "https://hooks.example.com/webhook/prod/twilio"
)

// expected computes the signature as Twilio's SDKs do: the URL, then each
// parameter name sorted, with its distinct values sorted.
func expected(token, u string, form url.Values) string {
	var b strings.Builder
	b.WriteString(u)
	names := make([]string, 0, len(form))
	for k := range form {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		vs := append([]string(nil), form[k]...)
		sort.Strings(vs)
		for i, v := range vs {
			if i > 0 && vs[i-1] == v {
				continue
			}
			b.WriteString(k + v)
		}
	}
	h := hmac.New(sha1.New, []byte(token))
	h.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// signer builds deliveries to publicURL: a form POST when the body does
// not start with '{', else a JSON POST signed through bodySHA256.
func signer(publicURL string) func(time.Time, string, []byte) *fasthttp.Request {
	return func(_ time.Time, token string, body []byte) *fasthttp.Request {
		req := new(fasthttp.Request)
		req.Header.SetMethod("POST")
		req.Header.Set("User-Agent", "TwilioProxy/1.1")
		req.Header.Set(IdempotencyHeader, "8e0f6e6b-2e0d-4f5d-9a8f-1a2b3c4d5e6f")
		u, _ := url.Parse(publicURL)
		if bytes.HasPrefix(body, []byte("{")) {
			sum := sha256.Sum256(body)
			q := u.Query()
			q.Set("bodySHA256", hex.EncodeToString(sum[:]))
			u.RawQuery = q.Encode()
			req.Header.SetContentType("application/json")
			req.Header.Set(SignatureHeader, expected(token, u.String(), nil))
		} else {
			// The parameters as the gateway decodes them (leniently, as
			// fasthttp does), so that odd fuzzed bodies sign consistently.
			var args fasthttp.Args
			args.ParseBytes(body)
			form := url.Values{}
			for k, v := range args.All() {
				form.Add(string(k), string(v))
			}
			req.Header.SetContentType("application/x-www-form-urlencoded")
			req.Header.Set(SignatureHeader, expected(token, u.String(), form))
		}
		req.SetRequestURI(u.RequestURI())
		req.SetBody(body)
		return req
	}
}

func testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func suiteCase(t testing.TB, file string) plugintest.Case {
	c := plugintest.Case{
		Provider: Provider{},
		Config:   provider.Config{Secret: token, PreviousSecret: previous},
		Sign:     signer(publicURL),
		Body:     testdata(t, file),
		Field:    Field,
		Keys:     []string{"AC0123456789abcdef0123456789abcdef"},
		Header:   SignatureHeader,
		Signed:   true,
		BaseURL:  "https://hooks.example.com",
	}
	form := testdata(t, "published.form")
	c.Vectors = []plugintest.Vector{{
		Name:   "Twilio docs and SDK tests, published",
		Config: provider.Config{Secret: "12345"},
		URL:    "https://mycompany.com/myapp.php?foo=1&bar=2",
		Request: func() *fasthttp.Request {
			return plugintest.NewRequest("/myapp.php?foo=1&bar=2", "application/x-www-form-urlencoded", form,
				SignatureHeader, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
		},
	}}
	return c
}

func TestConformance(t *testing.T) {
	t.Run("form", func(t *testing.T) { plugintest.Run(t, suiteCase(t, "sms.form")) })
	t.Run("json", func(t *testing.T) { plugintest.Run(t, suiteCase(t, "status.json")) })
}

func request(req *fasthttp.Request, u string) *provider.Request {
	return &provider.Request{Req: req, Now: time.Now(), URL: []byte(u)}
}

// TestPublishedVectors checks the vectors of Twilio's docs and SDK tests
// through the whole instance.
func TestPublishedVectors(t *testing.T) {
	inst, err := Provider{}.Provision(provider.Config{Secret: "12345"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, url, file, ct, sig string
		want                     bool
	}{
		{"form", "https://mycompany.com/myapp.php?foo=1&bar=2", "published.form", "application/x-www-form-urlencoded", "RSOYDt4T1cUTdK1PDd93/VVr8B8=", true},
		{"form received on :443", "https://mycompany.com:443/myapp.php?foo=1&bar=2", "published.form", "application/x-www-form-urlencoded", "RSOYDt4T1cUTdK1PDd93/VVr8B8=", true},
		{"form, other host", "https://mycompany.org/myapp.php?foo=1&bar=2", "published.form", "application/x-www-form-urlencoded", "RSOYDt4T1cUTdK1PDd93/VVr8B8=", false},
		{"json", "https://example.com/twilio/json?bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620", "published.json", "application/json", "z4vWpV4WXR4zT5Nws9IN0mKtrqU=", true},
		{"json, hash of another body", "https://example.com/twilio/json?bodySHA256=1a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620", "published.json", "application/json", "z4vWpV4WXR4zT5Nws9IN0mKtrqU=", false},
	}
	for _, tt := range tests {
		u, _ := url.Parse(tt.url)
		req := new(fasthttp.Request)
		req.Header.SetMethod("POST")
		req.SetRequestURI(u.RequestURI())
		req.Header.SetContentType(tt.ct)
		req.Header.Set(SignatureHeader, tt.sig)
		req.SetBody(testdata(t, tt.file))
		if ok, err := inst.Verify(request(req, tt.url)); ok != tt.want || err != nil {
			t.Errorf("%s: Verify = %v, %v; want %v", tt.name, ok, err, tt.want)
		}
	}
}

func TestRoute(t *testing.T) {
	inst, _ := Provider{}.Provision(provider.Config{Secret: token})
	sign := signer(publicURL)
	t.Run("form", func(t *testing.T) {
		var rt provider.Routing
		if err := inst.Route(request(sign(time.Time{}, token, testdata(t, "sms.form")), publicURL), &rt); err != nil {
			t.Fatal(err)
		}
		var got map[string]string
		if err := json.Unmarshal(rt.Payload, &got); err != nil || got["Body"] != "Hello & welcome!" || got["To"] != "+14155550100" || len(got) != 19 {
			t.Fatalf("payload %s (%v)", rt.Payload, err)
		}
		if string(rt.Keys[0]) != "AC0123456789abcdef0123456789abcdef" || string(rt.EventType) != "received" || string(rt.EventID) != "8e0f6e6b-2e0d-4f5d-9a8f-1a2b3c4d5e6f" {
			t.Errorf("keys %q type %q id %q", rt.Keys, rt.EventType, rt.EventID)
		}
	})
	t.Run("json", func(t *testing.T) {
		var rt provider.Routing
		req := sign(time.Time{}, token, testdata(t, "status.json"))
		req.Header.Del(IdempotencyHeader)
		if err := inst.Route(request(req, publicURL), &rt); err != nil {
			t.Fatal(err)
		}
		if rt.Payload != nil || string(rt.Keys[0]) != "AC0123456789abcdef0123456789abcdef" || string(rt.EventType) != "com.twilio.messaging.message.delivered" || string(rt.EventID) != "EZ0123456789abcdef0123456789abcdef" {
			t.Errorf("payload %q keys %q type %q id %q", rt.Payload, rt.Keys, rt.EventType, rt.EventID)
		}
	})
	t.Run("get", func(t *testing.T) {
		req := new(fasthttp.Request)
		req.Header.SetMethod("GET")
		req.SetRequestURI("/webhook/prod/twilio?AccountSid=AC1&CallStatus=ringing")
		var rt provider.Routing
		if err := inst.Route(request(req, publicURL), &rt); err != nil || string(rt.Payload) != `{"AccountSid":"AC1","CallStatus":"ringing"}` || string(rt.Keys[0]) != "AC1" || string(rt.EventType) != "ringing" {
			t.Errorf("Route = %v payload %s keys %q type %q", err, rt.Payload, rt.Keys, rt.EventType)
		}
	})
	t.Run("neither", func(t *testing.T) {
		req := sign(time.Time{}, token, []byte("{"))
		var rt provider.Routing
		var pe *provider.Error
		if err := inst.Route(request(req, publicURL), &rt); !errors.As(err, &pe) || pe.Status != 400 {
			t.Errorf("Route = %v; want a 400", err)
		}
	})
}

func TestProvision(t *testing.T) {
	for name, tt := range map[string]struct {
		cfg provider.Config
		ok  bool
	}{
		"token":          {provider.Config{Secret: "t"}, true},
		"no token":       {provider.Config{}, false},
		"unknown option": {provider.Config{Secret: "t", Options: json.RawMessage(`{"url":"x"}`)}, false},
	} {
		_, err := Provider{}.Provision(tt.cfg)
		if (err == nil) != tt.ok || err != nil && !strings.HasPrefix(err.Error(), "plugins/twilio: ") {
			t.Errorf("%s: Provision err = %v; want ok %v", name, err, tt.ok)
		}
	}
}

func seeds(t testing.TB) [][]byte {
	return [][]byte{testdata(t, "sms.form"), testdata(t, "published.form"), testdata(t, "status.json")}
}

func FuzzVerify(f *testing.F) { plugintest.FuzzVerify(f, suiteCase(f, "sms.form"), seeds(f)) }

func FuzzRoute(f *testing.F) { plugintest.FuzzRoute(f, suiteCase(f, "sms.form"), seeds(f)) }

func BenchmarkVerifyRoute(b *testing.B) {
	inst, _ := Provider{}.Provision(provider.Config{Secret: token})
	r := request(signer(publicURL)(time.Time{}, token, testdata(b, "sms.form")), publicURL)
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
