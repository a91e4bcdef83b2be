package plugintest

import (
	"testing"

	"github.com/edgehook/edgehook/provider"
)

// FuzzVerify fuzzes Verify with arbitrary bodies and signature header
// values (bodies alone when Case.Header is empty), seeded with the valid
// deliveries of seeds: it must never panic and must answer (bool, nil) or a
// 4xx *provider.Error.
func FuzzVerify(f *testing.F, c Case, seeds [][]byte) {
	inst, err := c.Provider.Provision(c.Config)
	if err != nil {
		f.Fatal(err)
	}
	now := c.now()
	for _, s := range seeds {
		f.Add(s, string(c.Sign(now, c.Config.Secret, s).Header.Peek(c.Header)))
		f.Add(s, "sha256=00")
	}
	f.Fuzz(func(t *testing.T, body []byte, header string) {
		req := c.Sign(now, c.Config.Secret, c.Body)
		req.SetBody(body)
		if c.Header != "" {
			req.Header.Set(c.Header, header)
		}
		_, err := inst.Verify(c.request(req, now))
		checkErr(t, "Verify", err)
	})
}

// FuzzRoute fuzzes Route with arbitrary correctly signed bodies, as JSON and
// as a form (contentType "form"), seeded with seeds: Verify must pass
// (unless the credential or the timestamp is in the body, Case.Header
// empty or Case.BodyTimestamp, and the fuzzer broke it), and Route must
// never panic, answer nil or a 4xx *provider.Error, and report a JSON
// payload, JSON parts and non-empty keys.
func FuzzRoute(f *testing.F, c Case, seeds [][]byte) {
	inst, err := c.Provider.Provision(c.Config)
	if err != nil {
		f.Fatal(err)
	}
	now := c.now()
	for _, s := range seeds {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, body []byte, form bool) {
		req := c.Sign(now, c.Config.Secret, body)
		if form {
			req.Header.SetContentType("application/x-www-form-urlencoded")
		}
		r := c.request(req, now)
		ok, err := inst.Verify(r)
		if !ok && err == nil && (c.Header == "" || c.BodyTimestamp) {
			return // the credential or timestamp is in the body, and the fuzzer broke it
		}
		if !ok || err != nil {
			t.Fatalf("Verify of a signed body = %v, %v", ok, err)
		}
		var rt provider.Routing
		if err := inst.Route(r, &rt); err != nil {
			checkErr(t, "Route", err)
			return
		}
		checkPayload(t, r, &rt)
	})
}
