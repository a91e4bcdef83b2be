// Package plugintest is the conformance suite every provider plugin runs
// from its own tests: Run checks a valid delivery passes and routes as
// expected, that tampered, unsigned, wrongly signed, malformed and stale
// deliveries fail cleanly, and that Verify and Route do not allocate.
// FuzzVerify and FuzzRoute drive a plugin's fuzz targets.
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
	// Header is the header carrying the signature or credential.
	Header string
	// Signed means authenticity covers the body with a secret: a tampered
	// body, a wrong secret and a malformed signature must fail.
	Signed bool
	// Timestamped means the signature carries a timestamp: a stale or
	// future one must fail.
	Timestamped bool
	// Now is when the valid deliveries are received; zero means a fixed
	// date.
	Now time.Time
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
	t.Run("valid", func(t *testing.T) { c.valid(t, inst, c.Config.Secret) })
	if c.Config.PreviousSecret != "" {
		t.Run("previous secret", func(t *testing.T) { c.valid(t, inst, c.Config.PreviousSecret) })
	}
	t.Run("missing header", func(t *testing.T) {
		req := c.Sign(now, c.Config.Secret, c.Body)
		req.Header.Del(c.Header)
		wantFail(t, inst, req, now)
	})
	t.Run("empty header", func(t *testing.T) {
		req := c.Sign(now, c.Config.Secret, c.Body)
		req.Header.Set(c.Header, "")
		wantFail(t, inst, req, now)
	})
	t.Run("empty body", func(t *testing.T) { c.emptyBody(t, inst, now) })
	if c.Signed {
		c.signed(t, inst, now)
	}
	if c.Timestamped {
		for _, d := range []time.Duration{-time.Hour, time.Hour, -24 * time.Hour * 365} {
			t.Run("stale "+d.String(), func(t *testing.T) {
				wantFail(t, inst, c.Sign(now.Add(d), c.Config.Secret, c.Body), now)
			})
		}
	}
	t.Run("allocs", func(t *testing.T) { c.allocs(t, inst, now) })
	t.Run("concurrent", func(t *testing.T) { c.concurrent(t, inst, now) })
}

// valid checks a delivery signed with secret passes and routes as expected.
func (c *Case) valid(t *testing.T, inst provider.Instance, secret string) {
	now := c.now()
	r := &provider.Request{Req: c.Sign(now, secret, c.Body), Now: now}
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

// signed checks the failures of a scheme whose signature covers the body.
func (c *Case) signed(t *testing.T, inst provider.Instance, now time.Time) {
	t.Run("tampered body", func(t *testing.T) {
		req := c.Sign(now, c.Config.Secret, c.Body)
		b := append([]byte(nil), c.Body...)
		b[len(b)/2] ^= 0x01
		req.SetBody(b)
		wantFail(t, inst, req, now)
	})
	t.Run("body removed", func(t *testing.T) {
		req := c.Sign(now, c.Config.Secret, c.Body)
		req.SetBody(nil)
		wantFail(t, inst, req, now)
	})
	t.Run("wrong secret", func(t *testing.T) {
		wantFail(t, inst, c.Sign(now, "not the secret", c.Body), now)
	})
	good := string(c.Sign(now, c.Config.Secret, c.Body).Header.Peek(c.Header))
	for _, v := range malformed(good) {
		t.Run("malformed "+v[:min(len(v), 24)], func(t *testing.T) {
			req := c.Sign(now, c.Config.Secret, c.Body)
			req.Header.Set(c.Header, v)
			wantFail(t, inst, req, now)
		})
	}
}

// malformed returns broken variants of a valid signature header value.
func malformed(good string) []string {
	vs := []string{"x", "=", ",", ";", " ", "sha256=", "v1=", "v1,", "t=,v1=", "sha256=zz",
		strings.Repeat("a", 4096), strings.Repeat("=", 100)}
	// Base64 padding is not significant: cut and replace real characters.
	if g := strings.TrimRight(good, "="); len(g) > 2 {
		vs = append(vs, g[:len(g)-1], good+"0", g[:len(g)-2]+"zz", good[1:])
	}
	return vs
}

// emptyBody checks that an empty body, signed or not, fails cleanly.
func (c *Case) emptyBody(t *testing.T, inst provider.Instance, now time.Time) {
	r := &provider.Request{Req: c.Sign(now, c.Config.Secret, nil), Now: now}
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

// wantFail checks Verify rejects req, with (false, nil) or a clean
// *provider.Error.
func wantFail(t *testing.T, inst provider.Instance, req *fasthttp.Request, now time.Time) {
	t.Helper()
	ok, err := inst.Verify(&provider.Request{Req: req, Now: now})
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

// checkPayload checks what would be forwarded is JSON.
func checkPayload(t *testing.T, r *provider.Request, rt *provider.Routing) {
	t.Helper()
	p := rt.Payload
	if p == nil {
		p = r.Body()
	}
	if !json.Valid(p) {
		t.Fatalf("forwarded payload is not JSON: %.80q", p)
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
	r := &provider.Request{Req: c.Sign(now, c.Config.Secret, c.Body), Now: now}
	var rt provider.Routing
	n := testing.AllocsPerRun(100, func() {
		if ok, err := inst.Verify(r); !ok || err != nil {
			t.Fatalf("Verify = %v, %v", ok, err)
		}
		rt.Reset()
		if err := inst.Route(r, &rt); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("Verify+Route allocate %v times per request; want 0", n)
	}
}

// concurrent runs valid and invalid deliveries in parallel (for -race).
func (c *Case) concurrent(t *testing.T, inst provider.Instance, now time.Time) {
	var wg sync.WaitGroup
	for g := range 4 {
		secret := c.Config.Secret
		if g%2 == 1 && c.Signed {
			secret = "not the secret"
		}
		r := &provider.Request{Req: c.Sign(now, secret, c.Body), Now: now}
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
