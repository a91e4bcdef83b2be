package stripe

import (
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/plugins/plugintest"
	"github.com/edgehook/edgehook/provider"
)

const (
	secret   = "whsec_test_current"
	previous = "whsec_test_previous"
)

func v1(key string, ts string, body []byte) string {
	return hex.EncodeToString(plugintest.MAC([]byte(key), []byte(ts+"."), body))
}

// sign builds a delivery as Stripe sends it, with a v0 entry as the test
// mode does (placed before v1, so that the suite's malformed variants,
// which change the end of the header, break the v1 signature).
func sign(now time.Time, key string, body []byte) *fasthttp.Request {
	ts := strconv.FormatInt(now.Unix(), 10)
	return plugintest.NewRequest("/webhook/prod/stripe", "application/json; charset=utf-8", body,
		"User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
		"Stripe-Signature", "t="+ts+",v0="+strings.Repeat("0", 64)+",v1="+v1(key, ts, body))
}

// vector is the constructed vector of shared/PROVIDERS.md (checked there
// with stripe@23.1.0's constructEvent).
var vector = plugintest.Vector{
	Name:   "PROVIDERS.md constructed, stripe-node checked",
	Config: provider.Config{Secret: "whsec_test_secret"},
	Now:    time.Unix(1700000000, 0),
	Request: func() *fasthttp.Request {
		return plugintest.NewRequest("/webhook/prod/stripe", "application/json", []byte(`{"id":"evt_test_1","object":"event","type":"customer.created","account":"acct_123"}`),
			"Stripe-Signature", "t=1700000000,v1=dcbb8fad99683374953aa22e64c9eadcdb11997448709a23ae34d8723f91e509")
	},
}

func suiteCase(t testing.TB) plugintest.Case {
	return plugintest.Case{
		Provider:    Provider,
		Config:      provider.Config{Secret: secret, PreviousSecret: previous},
		Sign:        sign,
		Body:        plugintest.Testdata(t, "account_updated.json"),
		Field:       Field,
		Keys:        []string{"acct_1Nv0FGQ9RKHgCVdK"},
		Header:      "Stripe-Signature",
		Signed:      true,
		Timestamped: true,
		Tolerance:   Tolerance,
		Vectors:     []plugintest.Vector{vector},
	}
}

func TestConformance(t *testing.T) { plugintest.Run(t, suiteCase(t)) }

func TestVerify(t *testing.T) {
	inst, err := Provider.Provision(provider.Config{Secret: "whsec_test_secret", PreviousSecret: "whsec_old"})
	if err != nil {
		t.Fatal(err)
	}
	body := plugintest.Testdata(t, "customer_created.json")
	good := "dcbb8fad99683374953aa22e64c9eadcdb11997448709a23ae34d8723f91e509"
	now := time.Unix(1700000000, 0)
	tests := []struct {
		name, header string
		want         bool
	}{
		{"vector", "t=1700000000,v1=" + good, true},
		{"bad v1 first (secret roll)", "t=1700000000,v1=" + strings.Repeat("ab", 32) + ",v1=" + good, true},
		{"previous secret's v1 second", "t=1700000000,v1=" + good + ",v1=" + v1("whsec_old", "1700000000", body), true},
		{"previous secret alone", "t=1700000000,v1=" + v1("whsec_old", "1700000000", body), true},
		{"spaces after commas", "t=1700000000, v1=" + good, true},
		{"t last", "v1=" + good + ",t=1700000000", true},
		{"v0 only", "t=1700000000,v0=" + good, false},
		{"no t", "v1=" + good, false},
		{"t changed", "t=1700000001,v1=" + good, false},
		{"t empty", "t=,v1=" + good, false},
		{"decoded whsec key", "t=1700000000,v1=" + v1("test_secret", "1700000000", body), false},
		{"bare signature", good, false},
	}
	for _, tt := range tests {
		req := plugintest.NewRequest("/", "application/json", body, "Stripe-Signature", tt.header)
		if ok, err := inst.Verify(&provider.Request{Req: req, Now: now}); ok != tt.want || err != nil {
			t.Errorf("%s: Verify = %v, %v; want %v", tt.name, ok, err, tt.want)
		}
	}
}

func TestRoute(t *testing.T) {
	inst, err := Provider.Provision(provider.Config{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		file, key, typ, id string
	}{
		{"account_updated.json", "acct_1Nv0FGQ9RKHgCVdK", "account.updated", "evt_1OaB9zZ8yX7wV6uT"},
		{"customer_created.json", "acct_123", "customer.created", "evt_test_1"},
		{"invoice_paid.json", "", "invoice.paid", "evt_1OaB2cD3eF4gH5iJ"}, // a platform event: unmatched
	}
	for _, tt := range tests {
		var rt provider.Routing
		r := &provider.Request{Req: sign(time.Now(), secret, plugintest.Testdata(t, tt.file))}
		if err := inst.Route(r, &rt); err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		var key string
		if len(rt.Keys) == 1 {
			key = string(rt.Keys[0])
		}
		if rt.Field != Field || key != tt.key || len(rt.Keys) > 1 || string(rt.EventType) != tt.typ || string(rt.EventID) != tt.id || rt.Payload != nil {
			t.Errorf("%s: field %q keys %q type %q id %q payload %q", tt.file, rt.Field, rt.Keys, rt.EventType, rt.EventID, rt.Payload)
		}
	}
	var rt provider.Routing
	if err := inst.Route(&provider.Request{Req: sign(time.Now(), secret, []byte(`{"id":`))}, &rt); err == nil {
		t.Error("truncated JSON routed")
	}
}

func TestProvision(t *testing.T) {
	for _, cfg := range []provider.Config{{}, {Secret: "s", Options: []byte(`{"tolerance":"1m"}`)}} {
		if _, err := Provider.Provision(cfg); err == nil || !strings.HasPrefix(err.Error(), "plugins/stripe: ") {
			t.Errorf("Provision(%+v) err = %v", cfg, err)
		}
	}
}

func seeds(t testing.TB) [][]byte {
	return plugintest.Seeds(t, "customer_created.json", "invoice_paid.json", "account_updated.json")
}

func FuzzVerify(f *testing.F) { plugintest.FuzzVerify(f, suiteCase(f), seeds(f)) }
func FuzzRoute(f *testing.F)  { plugintest.FuzzRoute(f, suiteCase(f), seeds(f)) }

func BenchmarkVerifyRoute(b *testing.B) {
	inst, err := Provider.Provision(provider.Config{Secret: secret})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	r := &provider.Request{Req: sign(now, secret, plugintest.Testdata(b, "account_updated.json")), Now: now}
	plugintest.BenchmarkVerifyRoute(b, inst, r)
}
