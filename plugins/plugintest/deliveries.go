package plugintest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/provider"
)

// Delivery is one request to a plugin and what the plugin must make of it:
// a documented vector, a testdata file, a handshake.
type Delivery struct {
	Name string
	// Method is the HTTP method; empty means POST.
	Method string
	// Query is the raw URL query ("challenge=abc"), without "?".
	Query string
	// Body is the request body.
	Body []byte
	// Signed builds the request with the Case's Sign (its Config secret, at
	// Now) before Header is applied; otherwise only Header is sent.
	Signed bool
	// Header is name, value pairs set on the request (an empty value
	// deletes the header).
	Header []string
	// Now is when the request is received; zero means the Case's.
	Now time.Time
	// URL is the public URL the provider called (Request.URL).
	URL string

	// Reply, when set, is the exact reply Handshake must answer with;
	// otherwise Handshake (if any) must leave the request to Verify.
	Reply *provider.Reply
	// Verify is the expected result of Verify (not checked with Reply).
	Verify bool
	// Status is the status of the *provider.Error Handshake or, with
	// Verify, Route must fail with (0 for none). Otherwise, with Verify,
	// Keys, EventType and EventID are what Route must report.
	Status             int
	Keys               []string
	EventType, EventID string
}

// CheckDeliveries provisions c and checks each delivery: Handshake's reply,
// Verify's answer, and what Route reports.
func CheckDeliveries(t *testing.T, c Case, ds []Delivery) {
	t.Helper()
	inst, err := c.Provider.Provision(c.Config)
	if err != nil {
		t.Fatalf("Provision: %v", err)
	}
	for _, d := range ds {
		t.Run(d.Name, func(t *testing.T) { c.check(t, inst, &d) })
	}
}

func (c *Case) deliveryRequest(d *Delivery) *provider.Request {
	now := d.Now
	if now.IsZero() {
		now = c.now()
	}
	req := Post(d.Body)
	if d.Signed {
		req = c.Sign(now, c.Config.Secret, d.Body)
	}
	if d.Method != "" {
		req.Header.SetMethod(d.Method)
	}
	if d.Query != "" {
		req.URI().SetQueryString(d.Query)
	}
	for i := 0; i+1 < len(d.Header); i += 2 {
		if d.Header[i+1] == "" {
			req.Header.Del(d.Header[i])
		} else {
			req.Header.Set(d.Header[i], d.Header[i+1])
		}
	}
	return &provider.Request{Req: req, Now: now, URL: []byte(d.URL)}
}

func (c *Case) check(t *testing.T, inst provider.Instance, d *Delivery) {
	r := c.deliveryRequest(d)
	if hs, ok := inst.(provider.Handshaker); ok {
		var w provider.Reply
		handled, err := hs.Handshake(r, &w)
		if err != nil || d.Status != 0 && !d.Verify {
			wantStatus(t, "Handshake", err, d.Status)
			return
		}
		if handled != (d.Reply != nil) {
			t.Fatalf("Handshake handled = %v (reply %d %q); want %v", handled, w.Status, w.Body, d.Reply != nil)
		}
		if handled {
			checkReply(t, &w, d.Reply)
			return
		}
	} else if d.Reply != nil {
		t.Fatalf("%T is not a provider.Handshaker", inst)
	}
	ok, err := inst.Verify(r)
	checkErr(t, "Verify", err)
	if ok != d.Verify {
		t.Fatalf("Verify = %v; want %v", ok, d.Verify)
	}
	if !ok {
		return
	}
	var rt provider.Routing
	if err := inst.Route(r, &rt); err != nil || d.Status != 0 {
		wantStatus(t, "Route", err, d.Status)
		return
	}
	checkPayload(t, r, &rt)
	var keys []string
	for _, k := range rt.Keys {
		keys = append(keys, string(k))
	}
	if rt.Field != c.Field || !slices.Equal(keys, d.Keys) {
		t.Errorf("Field %q Keys %q; want %q %q", rt.Field, keys, c.Field, d.Keys)
	}
	if string(rt.EventType) != d.EventType || string(rt.EventID) != d.EventID {
		t.Errorf("EventType %q EventID %q; want %q %q", rt.EventType, rt.EventID, d.EventType, d.EventID)
	}
}

// wantStatus fails unless err is a *provider.Error with the status want.
func wantStatus(t *testing.T, what string, err error, want int) {
	t.Helper()
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.Status != want {
		t.Fatalf("%s = %v; want a *provider.Error with status %d", what, err, want)
	}
}

// checkReply compares a handshake reply with want: status (0 is 200),
// content type, body and headers, exactly.
func checkReply(t *testing.T, got, want *provider.Reply) {
	t.Helper()
	status := func(s int) int {
		if s == 0 {
			return 200
		}
		return s
	}
	if status(got.Status) != status(want.Status) || got.ContentType != want.ContentType || string(got.Body) != string(want.Body) {
		t.Errorf("reply %d %q %q; want %d %q %q", status(got.Status), got.ContentType, got.Body, status(want.Status), want.ContentType, want.Body)
	}
	if !slices.Equal(got.Header, want.Header) || string(got.Secret) != string(want.Secret) {
		t.Errorf("reply headers %q secret %q; want %q %q", got.Header, got.Secret, want.Header, want.Secret)
	}
}

// NoHandshake checks that Handshake leaves a valid delivery of c to Verify
// (not handled, no error), without allocating.
func NoHandshake(t *testing.T, c Case) {
	t.Helper()
	inst, err := c.Provider.Provision(c.Config)
	if err != nil {
		t.Fatalf("Provision: %v", err)
	}
	hs, ok := inst.(provider.Handshaker)
	if !ok {
		t.Fatalf("%T is not a provider.Handshaker", inst)
	}
	now := c.now()
	r := &provider.Request{Req: c.Sign(now, c.Config.Secret, c.Body), Now: now}
	var w provider.Reply
	if handled, err := hs.Handshake(r, &w); handled || err != nil {
		t.Fatalf("Handshake of a delivery = %v, %v; want false, nil", handled, err)
	}
	if raceEnabled {
		return
	}
	if n := testing.AllocsPerRun(100, func() { hs.Handshake(r, &w) }); n != 0 {
		t.Errorf("Handshake of a delivery allocates %v times; want 0", n)
	}
}

// Provisions is one provisioning case for CheckProvision.
type Provisions struct {
	Name   string
	Config provider.Config
	OK     bool
}

// CheckProvision checks which configurations p accepts; refusals must be
// errors prefixed "plugins/<id>: ".
func CheckProvision(t *testing.T, p provider.Provider, cases []Provisions) {
	t.Helper()
	for _, pc := range cases {
		_, err := p.Provision(pc.Config)
		if (err == nil) != pc.OK {
			t.Errorf("%s: Provision err = %v; want ok %v", pc.Name, err, pc.OK)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "plugins/"+p.ID()+": ") {
			t.Errorf("%s: error %q lacks the package prefix", pc.Name, err)
		}
	}
}

// Post returns a POST request carrying body and the header name,
// value pairs, as a Case's Sign builds it.
func Post(body []byte, header ...string) *fasthttp.Request {
	req := new(fasthttp.Request)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURI("/webhook/prod/integration")
	req.Header.SetContentType("application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	req.SetBody(body)
	return req
}

// MACWith returns the HMAC (hash newHash) of the concatenated parts with key.
func MACWith(newHash func() hash.Hash, key string, parts ...string) []byte {
	h := hmac.New(newHash, []byte(key))
	for _, p := range parts {
		h.Write([]byte(p))
	}
	return h.Sum(nil)
}

// Hex256 is the hex HMAC-SHA256 of the concatenated parts.
func Hex256(key string, parts ...string) string {
	return hex.EncodeToString(MACWith(sha256.New, key, parts...))
}

// Base64256 is the standard base64 HMAC-SHA256 of the parts.
func Base64256(key string, parts ...string) string {
	return base64.StdEncoding.EncodeToString(MACWith(sha256.New, key, parts...))
}

// PresetProvisions are the provisioning cases every matchers.Preset plugin
// passes: a secret is required, a previous one is optional, options are
// refused.
var PresetProvisions = []Provisions{
	{"secret", provider.Config{Secret: "s2VjcmV0"}, true},
	{"rotation", provider.Config{Secret: "s2VjcmV0", PreviousSecret: "cHJldmlvdXM="}, true},
	{"null options", provider.Config{Secret: "s2VjcmV0", Options: []byte(`null`)}, true},
	{"no secret", provider.Config{}, false},
	{"only previous", provider.Config{PreviousSecret: "cHJldmlvdXM="}, false},
	{"unknown option", provider.Config{Secret: "s2VjcmV0", Options: []byte(`{"header":"X"}`)}, false},
}
