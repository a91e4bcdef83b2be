// Package plugintest is the conformance suite every provider plugin runs
// from its own tests: Run checks that the provider's published vectors and
// a valid delivery pass and route as expected; that tampered, unsigned,
// wrongly signed, malformed, wrong-length, stale and future deliveries
// fail cleanly, as (false, nil) or a 4xx *provider.Error, never a panic;
// and that Verify and Route do not allocate. FuzzVerify and FuzzRoute
// drive a plugin's fuzz targets.
package plugintest

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgehook/edgehook/provider"
	"github.com/valyala/fasthttp"
)

// Case describes one plugin for the suite.
type Case struct {
	// Provider is the plugin under test.
	Provider provider.Provider
	// Config provisions the instance under test. When PreviousSecret is set,
	// deliveries signed with it must pass too.
	Config provider.Config
	// Sign builds a valid request carrying body, signed with secret (or
	// carrying the credential) at time now, with every header the provider
	// sends.
	Sign func(now time.Time, secret string, body []byte) *fasthttp.Request
	// Body is a valid delivery body; Keys and Field are what Route must
	// report for it.
	Body  []byte
	Field string
	Keys  []string
	// Header is the header carrying the signature or credential; empty
	// when the credential is in the body (Microsoft Graph's clientState,
	// Mailgun's signature object), which skips the header cases.
	Header string
	// Signed means authenticity covers the body with a secret: a tampered
	// body, a wrong secret and a malformed signature must fail.
	Signed bool
	// Token means the credential is a shared secret sent as it is (not a
	// signature over the body): a wrong or malformed one must fail, and a
	// changed body still passes.
	Token bool
	// Timestamped means the signature carries a timestamp: a stale or
	// future one must fail.
	Timestamped bool
	// Now is when the valid deliveries are received; zero means a fixed
	// date.
	Now time.Time
	// Tolerance, with Timestamped, is the replay window: deliveries signed
	// one second more than it before or after Now must fail, one second
	// less must pass.
	Tolerance time.Duration
	// TimestampHeader, when the timestamp travels in its own header, names
	// it: a delivery without it or with a malformed one must fail.
	TimestampHeader string
	// BodyTimestamp means the timestamp is a field of the body (Linear):
	// Sign writes it there, so it cannot make an arbitrary fuzzed body
	// valid, and FuzzRoute skips the bodies Verify rejects.
	BodyTimestamp bool
	// RouteAllocates means Route may allocate for this delivery (a SOAP
	// body parsed with encoding/xml); the allocation check then covers
	// Verify alone. JSON deliveries must not set it.
	RouteAllocates bool
	// Vectors are the provider's published or documented test vectors:
	// each must verify, and fail once its body changes (with Signed).
	Vectors []Vector
	// URL is the public URL the deliveries are addressed to, given as
	// Request.URL (as the gateway does for a provider.URLSigner). BaseURL,
	// instead, is the gateway's public base URL (scheme://host): each
	// request's URI is appended to it, for a Sign that varies the path.
	URL, BaseURL string
	// MaxAllocs is how many allocations Verify+Route may make per request;
	// 0 keeps the zero-allocation rule. Only for schemes whose standard
	// library verification allocates (ECDSA, RSA); say why where it is set.
	MaxAllocs float64
}

// Vector is one fixed, provider-documented delivery.
type Vector struct {
	// Name says where the vector comes from.
	Name string
	// Config provisions the instance; the zero Config means the Case's.
	Config provider.Config
	// Now is when the vector is received (inside its replay window).
	Now time.Time
	// Request builds the delivery.
	Request func() *fasthttp.Request
	// URL is the public URL it was sent to (Request.URL).
	URL string
}

// request wraps req as the gateway would, received at now.
func (c *Case) request(req *fasthttp.Request, now time.Time) *provider.Request {
	r := &provider.Request{Req: req, Now: now, URL: []byte(c.URL)}
	if c.URL == "" && c.BaseURL != "" {
		r.URL = append([]byte(c.BaseURL), req.RequestURI()...)
	}
	return r
}

func (c *Case) now() time.Time {
	if c.Now.IsZero() {
		return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	}
	return c.Now
}

// Run runs the conformance suite for c.
func Run(t *testing.T, c Case) {
	t.Helper()
	inst, err := c.Provider.Provision(c.Config)
	if err != nil {
		t.Fatalf("Provision: %v", err)
	}
	now := c.now()
	for _, v := range c.Vectors {
		t.Run("vector "+v.Name, func(t *testing.T) { c.vector(t, inst, v) })
	}
	t.Run("valid", func(t *testing.T) { c.valid(t, inst, c.Config.Secret) })
	if c.Config.PreviousSecret != "" {
		t.Run("previous secret", func(t *testing.T) { c.valid(t, inst, c.Config.PreviousSecret) })
	}
	if c.Header != "" {
		t.Run("missing header", func(t *testing.T) {
			req := c.Sign(now, c.Config.Secret, c.Body)
			req.Header.Del(c.Header)
			c.wantFail(t, inst, req, now)
		})
		t.Run("empty header", func(t *testing.T) {
			req := c.Sign(now, c.Config.Secret, c.Body)
			req.Header.Set(c.Header, "")
			c.wantFail(t, inst, req, now)
		})
	}
	t.Run("empty body", func(t *testing.T) { c.emptyBody(t, inst, now) })
	if c.Signed {
		c.signed(t, inst, now)
	}
	if c.Signed || c.Token {
		c.credential(t, inst, now)
	}
	if c.Timestamped {
		c.timestamped(t, inst, now)
	}
	t.Run("allocs", func(t *testing.T) { c.allocs(t, inst, now) })
	t.Run("concurrent", func(t *testing.T) { c.concurrent(t, inst, now) })
}

// valid checks a delivery signed with secret passes and routes as expected.
func (c *Case) valid(t *testing.T, inst provider.Instance, secret string) {
	now := c.now()
	r := c.request(c.Sign(now, secret, c.Body), now)
	ok, err := inst.Verify(r)
	if !ok || err != nil {
		t.Fatalf("Verify = %v, %v; want true", ok, err)
	}
	var rt provider.Routing
	if err := inst.Route(r, &rt); err != nil {
		t.Fatalf("Route: %v", err)
	}
	if rt.Field != c.Field {
		t.Errorf("Field = %q; want %q", rt.Field, c.Field)
	}
	var keys []string
	for _, k := range rt.Keys {
		keys = append(keys, string(k))
	}
	if strings.Join(keys, "\x00") != strings.Join(c.Keys, "\x00") || len(keys) != len(c.Keys) {
		t.Errorf("Keys = %q; want %q", keys, c.Keys)
	}
	checkPayload(t, r, &rt)
}

// vector checks a documented delivery verifies, and, when the signature
// covers the body, fails with another body.
func (c *Case) vector(t *testing.T, inst provider.Instance, v Vector) {
	if v.Config.Secret != "" || v.Config.PreviousSecret != "" || v.Config.Options != nil {
		var err error
		if inst, err = c.Provider.Provision(v.Config); err != nil {
			t.Fatalf("Provision: %v", err)
		}
	}
	at := func(req *fasthttp.Request) *provider.Request {
		return &provider.Request{Req: req, Now: v.Now, URL: []byte(v.URL)}
	}
	req := v.Request()
	if ok, err := inst.Verify(at(req)); !ok || err != nil {
		t.Fatalf("Verify = %v, %v; want true", ok, err)
	}
	if !c.Signed {
		return
	}
	b := append([]byte(nil), req.Body()...)
	if len(b) == 0 {
		b = []byte("x")
	} else {
		b[len(b)/2] ^= 0x01
	}
	req = v.Request()
	req.SetBody(b)
	wantFailAt(t, inst, at(req))
}

// timestamped checks stale and future deliveries fail, and those inside
// the tolerance pass.
func (c *Case) timestamped(t *testing.T, inst provider.Instance, now time.Time) {
	for _, d := range []time.Duration{-time.Hour, time.Hour, -24 * time.Hour * 365, 24 * time.Hour * 365} {
		t.Run("signed at "+d.String(), func(t *testing.T) {
			c.wantFail(t, inst, c.Sign(now.Add(d), c.Config.Secret, c.Body), now)
		})
	}
	if tol := c.Tolerance; tol > 2*time.Second {
		for _, d := range []time.Duration{-tol - time.Second, tol + time.Second} {
			t.Run("just outside "+d.String(), func(t *testing.T) {
				c.wantFail(t, inst, c.Sign(now.Add(d), c.Config.Secret, c.Body), now)
			})
		}
		for _, d := range []time.Duration{-tol + time.Second, tol - time.Second} {
			t.Run("just inside "+d.String(), func(t *testing.T) {
				r := c.request(c.Sign(now.Add(d), c.Config.Secret, c.Body), now)
				if ok, err := inst.Verify(r); !ok || err != nil {
					t.Fatalf("Verify = %v, %v; want true", ok, err)
				}
			})
		}
	}
	if h := c.TimestampHeader; h != "" {
		for _, v := range []string{"", "x", "-1", "1e9", "99999999999999999999999", " ", "0"} {
			t.Run("timestamp "+v, func(t *testing.T) {
				req := c.Sign(now, c.Config.Secret, c.Body)
				req.Header.Set(h, v)
				c.wantFail(t, inst, req, now)
			})
		}
		t.Run("timestamp header missing", func(t *testing.T) {
			req := c.Sign(now, c.Config.Secret, c.Body)
			req.Header.Del(h)
			c.wantFail(t, inst, req, now)
		})
	}
}

// signed checks the failures of a scheme whose signature covers the body.
func (c *Case) signed(t *testing.T, inst provider.Instance, now time.Time) {
	t.Run("tampered body", func(t *testing.T) {
		req := c.Sign(now, c.Config.Secret, c.Body)
		b := append([]byte(nil), c.Body...)
		b[len(b)/2] ^= 0x01
		req.SetBody(b)
		c.wantFail(t, inst, req, now)
	})
	t.Run("body removed", func(t *testing.T) {
		req := c.Sign(now, c.Config.Secret, c.Body)
		req.SetBody(nil)
		c.wantFail(t, inst, req, now)
	})
}

// credential checks a wrong and malformed credentials fail.
func (c *Case) credential(t *testing.T, inst provider.Instance, now time.Time) {
	t.Run("wrong secret", func(t *testing.T) {
		c.wantFail(t, inst, c.Sign(now, "not the secret", c.Body), now)
	})
	if c.Header == "" {
		return
	}
	good := string(c.Sign(now, c.Config.Secret, c.Body).Header.Peek(c.Header))
	for _, v := range malformed(good) {
		t.Run("malformed "+v[:min(len(v), 24)], func(t *testing.T) {
			req := c.Sign(now, c.Config.Secret, c.Body)
			req.Header.Set(c.Header, v)
			c.wantFail(t, inst, req, now)
		})
	}
}

// malformed returns broken variants of a valid signature header value:
// garbage, a bad encoding, and well-encoded signatures of the wrong
// length (a byte short or long, in hex and in base64).
func malformed(good string) []string {
	vs := []string{"x", "=", ",", ";", " ", "sha256=", "v1=", "v1,", "t=,v1=", "sha256=zz",
		strings.Repeat("a", 4096), strings.Repeat("=", 100)}
	if len(good) > 4 {
		// Cutting base64 padding alone leaves the same signature.
		cut := strings.TrimRight(good, "=")
		vs = append(vs, cut[:len(cut)-1], good+"0", good[:len(good)-2]+"zz", good[1:],
			cut[:len(cut)-2], good+"00", cut[:len(cut)-4], good+"AAAA")
	}
	return vs
}

// emptyBody checks that an empty body, signed or not, fails cleanly.
func (c *Case) emptyBody(t *testing.T, inst provider.Instance, now time.Time) {
	r := c.request(c.Sign(now, c.Config.Secret, nil), now)
	ok, err := inst.Verify(r)
	checkErr(t, "Verify", err)
	if !ok {
		return
	}
	var rt provider.Routing
	if err := inst.Route(r, &rt); err != nil {
		checkErr(t, "Route", err)
		return
	}
	checkPayload(t, r, &rt)
}

// wantFail checks Verify rejects req received at now, with (false, nil)
// or a clean *provider.Error.
func (c *Case) wantFail(t *testing.T, inst provider.Instance, req *fasthttp.Request, now time.Time) {
	t.Helper()
	wantFailAt(t, inst, c.request(req, now))
}

func wantFailAt(t *testing.T, inst provider.Instance, r *provider.Request) {
	t.Helper()
	ok, err := inst.Verify(r)
	checkErr(t, "Verify", err)
	if ok {
		t.Fatal("Verify = true; want false")
	}
}

// checkErr fails unless err is nil or a *provider.Error with a 4xx status.
func checkErr(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.Status < 400 || pe.Status > 499 {
		t.Fatalf("%s error %v (%T) is not a 4xx *provider.Error", what, err, err)
	}
}

// checkPayload checks what would be forwarded is JSON: the payload, and
// each part when a batch is split (one per key).
func checkPayload(t *testing.T, r *provider.Request, rt *provider.Routing) {
	t.Helper()
	p := rt.Payload
	if p == nil {
		p = r.Body()
	}
	if !json.Valid(p) {
		t.Fatalf("forwarded payload is not JSON: %.80q", p)
	}
	if len(rt.Parts) > 0 && len(rt.Parts) != len(rt.Keys) {
		t.Fatalf("%d parts for %d keys", len(rt.Parts), len(rt.Keys))
	}
	for i, part := range rt.Parts {
		if !json.Valid(part) {
			t.Fatalf("part %d is not JSON: %.80q", i, part)
		}
	}
	for i, k := range rt.Keys {
		if len(k) == 0 {
			t.Fatalf("routing key %d is empty", i)
		}
	}
}

// allocs checks Verify and Route on a valid delivery do not allocate.
func (c *Case) allocs(t *testing.T, inst provider.Instance, now time.Time) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	r := c.request(c.Sign(now, c.Config.Secret, c.Body), now)
	var rt provider.Routing
	n := testing.AllocsPerRun(100, func() {
		if ok, err := inst.Verify(r); !ok || err != nil {
			t.Fatalf("Verify = %v, %v", ok, err)
		}
		if c.RouteAllocates {
			return
		}
		rt.Reset()
		if err := inst.Route(r, &rt); err != nil {
			t.Fatal(err)
		}
	})
	if n > c.MaxAllocs {
		t.Errorf("Verify+Route allocate %v times per request; want at most %v", n, c.MaxAllocs)
	}
}

// concurrent runs valid and invalid deliveries in parallel (for -race).
func (c *Case) concurrent(t *testing.T, inst provider.Instance, now time.Time) {
	var wg sync.WaitGroup
	for g := range 4 {
		secret := c.Config.Secret
		if g%2 == 1 && (c.Signed || c.Token) {
			secret = "not the secret"
		}
		r := c.request(c.Sign(now, secret, c.Body), now)
		wg.Go(func() {
			var rt provider.Routing
			for range 50 {
				ok, err := inst.Verify(r)
				if err != nil || ok != (secret == c.Config.Secret) {
					t.Errorf("Verify = %v, %v", ok, err)
					return
				}
				rt.Reset()
				if ok {
					if err := inst.Route(r, &rt); err != nil {
						t.Errorf("Route: %v", err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}
