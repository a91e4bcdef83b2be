package hubspot

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/plugins/plugintest"
	"github.com/edgehook/edgehook/provider"
)

const (
	secret   = "hubspot-client-current"
	previous = "hubspot-client-previous"
	// rawURL is the public URL as the gateway passes it; HubSpot signs it
	// with %3A and %2F decoded.
	rawURL     = "https://hooks.example.com/webhook/prod/hubspot?state=a%3Ab%2Fc&q=x%20y"
	decodedURL = "https://hooks.example.com/webhook/prod/hubspot?state=a:b/c&q=x%20y"
	published  = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
)

func sigV3(key, url, ts string, body []byte) string {
	return base64.StdEncoding.EncodeToString(plugintest.MAC([]byte(key), []byte("POST"+url), body, []byte(ts)))
}

func sigV1(key string, body []byte) string {
	d := sha256.Sum256(append([]byte(key), body...))
	return hex.EncodeToString(d[:])
}

// signV3 builds a delivery as HubSpot sends it today: v3, and v1 beside it.
func signV3(now time.Time, key string, body []byte) *fasthttp.Request {
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	return plugintest.NewRequest("/webhook/prod/hubspot?state=a%3Ab%2Fc&q=x%20y", "application/json", body,
		"User-Agent", "HubSpot Connect 2.0 (http://dev.hubspot.com/)",
		"X-HubSpot-Request-Timestamp", ts,
		HeaderV3, sigV3(key, decodedURL, ts, body),
		HeaderV1, sigV1(key, body), "X-HubSpot-Signature-Version", "v1")
}

// signV1 builds a delivery signed with v1 only.
func signV1(_ time.Time, key string, body []byte) *fasthttp.Request {
	return plugintest.NewRequest("/webhook/prod/hubspot", "application/json", body,
		HeaderV1, sigV1(key, body), "X-HubSpot-Signature-Version", "v1")
}

// vectors are those of shared/PROVIDERS.md: v1 (HubSpot docs and SDK
// tests) and v3 (hubspot-api-ruby spec), both accepted there by
// @hubspot/api-client@13.5.0, and the constructed v3 decoding vector.
var vectors = []plugintest.Vector{
	{Name: "v1 hubspot docs and SDK tests", Config: provider.Config{Secret: published}, Now: time.Unix(1700000000, 0),
		Request: func() *fasthttp.Request {
			return plugintest.NewRequest("/", "application/json",
				[]byte(`[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM","changeFlag":"NEW","appId":54321}]`),
				HeaderV1, "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de")
		}},
	{Name: "v3 hubspot-api-ruby spec", Config: provider.Config{Secret: published}, Now: time.UnixMilli(15000000 + 1000),
		URL: "https://www.example.com/webhook_uri",
		Request: func() *fasthttp.Request {
			return plugintest.NewRequest("/webhook_uri", "application/json", []byte(`{'example_field':'example_value'}`),
				"X-HubSpot-Request-Timestamp", "15000000", HeaderV3, "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw=")
		}},
	{Name: "v3 URI decoding, constructed", Config: provider.Config{Secret: published}, Now: time.UnixMilli(1700000000000),
		URL: "https://example.com/hubspot?portal=62515&state=a%3Ab%2Fc",
		Request: func() *fasthttp.Request {
			return plugintest.NewRequest("/hubspot?portal=62515&state=a%3Ab%2Fc", "application/json",
				[]byte(`[{"eventId":1,"portalId":62515,"subscriptionType":"contact.creation"}]`),
				"X-HubSpot-Request-Timestamp", "1700000000000", HeaderV3, "Hm3aNzg5Tao8mbezCr/i7kfV41dXA2ov0uZreJo/57Q=")
		}},
}

func suiteV3(t testing.TB) plugintest.Case {
	return plugintest.Case{
		Provider: Provider{},
		Config:   provider.Config{Secret: secret, PreviousSecret: previous},
		Sign: func(now time.Time, key string, body []byte) *fasthttp.Request {
			r := signV3(now, key, body)
			r.Header.Del(HeaderV1)
			return r
		},
		Body:            plugintest.Testdata(t, "two_portals.json"),
		Field:           Field,
		Keys:            []string{"62515", "99001"},
		Header:          HeaderV3,
		Signed:          true,
		Timestamped:     true,
		Tolerance:       Tolerance,
		TimestampHeader: "X-HubSpot-Request-Timestamp",
		URL:             rawURL,
		Vectors:         vectors,
	}
}

func suiteV1(t testing.TB) plugintest.Case {
	c := suiteV3(t)
	c.Sign, c.Header, c.Timestamped, c.TimestampHeader, c.Tolerance = signV1, HeaderV1, false, "", 0
	c.Body, c.Keys = plugintest.Testdata(t, "one_portal.json"), []string{"62515"}
	return c
}

func TestConformance(t *testing.T) {
	t.Run("v3", func(t *testing.T) { plugintest.Run(t, suiteV3(t)) })
	t.Run("v1", func(t *testing.T) { plugintest.Run(t, suiteV1(t)) })
}

func TestVerify(t *testing.T) {
	inst, err := Provider{}.Provision(provider.Config{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	noV1, err := Provider{}.Provision(provider.Config{Secret: secret, Options: json.RawMessage(`{"accept_v1":false}`)})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	body := plugintest.Testdata(t, "two_portals.json")
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	tests := []struct {
		name string
		inst provider.Instance
		url  string
		edit func(*fasthttp.Request)
		want bool
	}{
		{"v3 and v1", inst, rawURL, func(*fasthttp.Request) {}, true},
		{"v3 over the decoded URL given already decoded", inst, decodedURL, func(*fasthttp.Request) {}, true},
		{"v3 signed over the raw URL (not what HubSpot does)", inst, rawURL, func(r *fasthttp.Request) {
			r.Header.Set(HeaderV3, sigV3(secret, rawURL, ts, body))
		}, false},
		{"v3 over another URL", inst, "https://hooks.example.com/webhook/prod/other", func(*fasthttp.Request) {}, false},
		{"v3 without the URL", inst, "", func(*fasthttp.Request) {}, false},
		{"bad v3 does not fall back to a good v1", inst, rawURL, func(r *fasthttp.Request) { r.Header.Set(HeaderV3, "AAAA") }, false},
		{"v3 with seconds instead of ms", inst, rawURL, func(r *fasthttp.Request) {
			s := strconv.FormatInt(now.Unix(), 10)
			r.Header.Set("X-HubSpot-Request-Timestamp", s)
			r.Header.Set(HeaderV3, sigV3(secret, decodedURL, s, body))
		}, false},
		{"v1 alone", inst, rawURL, func(r *fasthttp.Request) { r.Header.Del(HeaderV3) }, true},
		{"v1 is a digest, not an HMAC", inst, rawURL, func(r *fasthttp.Request) {
			r.Header.Del(HeaderV3)
			r.Header.Set(HeaderV1, hex.EncodeToString(plugintest.MAC([]byte(secret), body)))
		}, false},
		{"v3 with accept_v1 false", noV1, rawURL, func(*fasthttp.Request) {}, true},
		{"v1 alone with accept_v1 false", noV1, rawURL, func(r *fasthttp.Request) { r.Header.Del(HeaderV3) }, false},
	}
	for _, tt := range tests {
		req := signV3(now, secret, body)
		tt.edit(req)
		if ok, err := tt.inst.Verify(&provider.Request{Req: req, Now: now, URL: []byte(tt.url)}); ok != tt.want || err != nil {
			t.Errorf("%s: Verify = %v, %v; want %v", tt.name, ok, err, tt.want)
		}
	}
}

func TestDecodeURI(t *testing.T) {
	for in, want := range map[string]string{
		"https://example.com/hubspot?portal=62515&state=a%3Ab%2Fc": "https://example.com/hubspot?portal=62515&state=a:b/c",
		"/p?a=%3a%2f%3F%40%21%24%27%28%29%2A%2C%3B":                "/p?a=:/?@!$'()*,;",
		"/p?keep=%20%26%3D%25%2B%23%5B%7E":                         "/p?keep=%20%26%3D%25%2B%23%5B%7E",
		"/p?x=%253A":                                               "/p?x=%253A",
		"/p?x=%%3A3A":                                              "/p?x=%:3A",
		"/p?trail=%3":                                              "/p?trail=%3",
		"/p?trail=%":                                               "/p?trail=%",
		"/p?bad=%zz%3":                                             "/p?bad=%zz%3",
		"":                                                         "",
	} {
		got := string(DecodeURI(nil, []byte(in)))
		if got != want {
			t.Errorf("DecodeURI(%q) = %q; want %q", in, got, want)
		}
		if again := string(DecodeURI(nil, []byte(got))); again != got {
			t.Errorf("DecodeURI is not idempotent on %q: %q", got, again)
		}
	}
}

func TestSplit(t *testing.T) {
	two := plugintest.Testdata(t, "two_portals.json")
	var evs []json.RawMessage
	if err := json.Unmarshal(two, &evs); err != nil {
		t.Fatal(err)
	}
	var rt provider.Routing
	if err := Split(two, &rt); err != nil {
		t.Fatal(err)
	}
	wantParts := []string{"[" + string(evs[0]) + "," + string(evs[2]) + "]", "[" + string(evs[1]) + "]"}
	if rt.Field != Field || len(rt.Keys) != 2 || string(rt.Keys[0]) != "62515" || string(rt.Keys[1]) != "99001" ||
		len(rt.Parts) != 2 || string(rt.Parts[0]) != wantParts[0] || string(rt.Parts[1]) != wantParts[1] {
		t.Fatalf("keys %q parts %q; want [62515 99001] %q", rt.Keys, rt.Parts, wantParts)
	}
	if !bytes.Contains(rt.Parts[0], []byte(`"Ada \u2014 \"the first\""`)) {
		t.Error("event bytes were re-encoded")
	}
	if string(rt.EventType) != "contact.propertyChange" || !strings.HasPrefix(string(rt.EventID), "sha256:") {
		t.Errorf("type %q id %q", rt.EventType, rt.EventID)
	}
	// The same events in another order are the same batch.
	id := string(rt.EventID)
	rt.Reset()
	if err := Split([]byte("["+string(evs[2])+","+string(evs[0])+","+string(evs[1])+"]"), &rt); err != nil || string(rt.EventID) != id {
		t.Errorf("reordered batch: id %q, %v; want %q", rt.EventID, err, id)
	}

	tests := []struct {
		name  string
		body  string
		keys  []string
		parts int
		id    string
		err   bool
	}{
		{"one portal: no parts", string(plugintest.Testdata(t, "one_portal.json")), []string{"62515"}, 0, "sha256:", false},
		{"one event: its own key", string(plugintest.Testdata(t, "v1_published.json")), []string{"62515"}, 0, "12345:1:1564113600000", false},
		{"string and number portal ids are one portal", `[{"portalId":1,"eventId":1},{"portalId":"1","eventId":2}]`, []string{"1"}, 0, "sha256:", false},
		{"an event without eventId: no dedupe key", `[{"portalId":1,"eventId":1},{"portalId":2}]`, []string{"1", "2"}, 2, "", false},
		{"empty array", `[]`, nil, 0, "", false},
		{"an object", `{"portalId":1}`, nil, 0, "", true},
		{"an element not an object", `[{"portalId":1},2]`, nil, 0, "", true},
		{"an element without portalId", `[{"portalId":1},{"eventId":2}]`, nil, 0, "", true},
		{"portalId null", `[{"portalId":null}]`, nil, 0, "", true},
		{"not JSON", `[{"portalId":1}`, nil, 0, "", true},
	}
	for _, tt := range tests {
		rt.Reset()
		err := Split([]byte(tt.body), &rt)
		if (err != nil) != tt.err {
			t.Errorf("%s: err = %v", tt.name, err)
			continue
		}
		var keys []string
		for _, k := range rt.Keys {
			keys = append(keys, string(k))
		}
		if strings.Join(keys, ",") != strings.Join(tt.keys, ",") || len(rt.Parts) != tt.parts || !strings.HasPrefix(string(rt.EventID), tt.id) || tt.id == "" && rt.EventID != nil {
			t.Errorf("%s: keys %q parts %d id %q", tt.name, keys, len(rt.Parts), rt.EventID)
		}
	}
}

func TestRouteStatus(t *testing.T) {
	inst, _ := Provider{}.Provision(provider.Config{Secret: secret})
	var rt provider.Routing
	var pe *provider.Error
	if err := inst.Route(&provider.Request{Req: signV3(time.Now(), secret, []byte(`{"portalId":1}`))}, &rt); !errors.As(err, &pe) || pe.Status != 400 {
		t.Errorf("object body: %v; want a 400", err)
	}
}

func TestProvision(t *testing.T) {
	for _, cfg := range []provider.Config{{}, {Secret: "s", Options: []byte(`{"accept_v2":true}`)}, {Secret: "s", Options: []byte(`{"accept_v1":"no"}`)}} {
		if _, err := (Provider{}).Provision(cfg); err == nil || !strings.HasPrefix(err.Error(), "plugins/hubspot: ") {
			t.Errorf("Provision(%+v) err = %v", cfg, err)
		}
	}
}

func seeds(t testing.TB) [][]byte {
	return plugintest.Seeds(t, "two_portals.json", "one_portal.json", "v1_published.json", "decoding_vector.json")
}

func FuzzVerify(f *testing.F) { plugintest.FuzzVerify(f, suiteV3(f), seeds(f)) }
func FuzzRoute(f *testing.F)  { plugintest.FuzzRoute(f, suiteV3(f), seeds(f)) }

// FuzzSplit checks a split batch against encoding/json: every event lands
// in exactly one part, the part of its own portal, with its bytes intact.
func FuzzSplit(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Add([]byte(`[{"portalId":"1"},{"portalId":1},{"portalId":"\u0031"}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var rt provider.Routing
		if err := Split(body, &rt); err != nil {
			return
		}
		var evs []json.RawMessage
		if err := json.Unmarshal(body, &evs); err != nil {
			t.Fatalf("Split accepted %q, which is not an array: %v", body, err)
		}
		if len(evs) > 0 && len(rt.Keys) == 0 {
			t.Fatalf("%q: no keys", body)
		}
		if len(rt.Parts) == 0 {
			if len(rt.Keys) > 1 {
				t.Fatalf("%q: %d keys without parts", body, len(rt.Keys))
			}
			return
		}
		n := 0
		for i, part := range rt.Parts {
			var got []json.RawMessage
			if err := json.Unmarshal(part, &got); err != nil {
				t.Fatalf("part %d %q is not an array: %v", i, part, err)
			}
			for _, ev := range got {
				if !bytes.Contains(body, ev) {
					t.Fatalf("part %d holds %q, not in the body", i, ev)
				}
			}
			n += len(got)
		}
		if n != len(evs) {
			t.Fatalf("%q: %d events in parts; want %d", body, n, len(evs))
		}
	})
}

func BenchmarkVerifyRoute(b *testing.B) {
	inst, err := Provider{}.Provision(provider.Config{Secret: secret})
	if err != nil {
		b.Fatal(err)
	}
	for _, file := range []string{"two_portals.json", "one_portal.json"} {
		b.Run(file, func(b *testing.B) {
			now := time.Now()
			req := signV3(now, secret, plugintest.Testdata(b, file))
			plugintest.BenchmarkVerifyRoute(b, inst, &provider.Request{Req: req, Now: now, URL: []byte(rawURL)})
		})
	}
}
