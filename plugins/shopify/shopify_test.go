package shopify

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/plugins/plugintest"
	"github.com/edgehook/edgehook/provider"
)

const (
	secret   = "shpss_current"
	previous = "shpss_previous"
)

func mac(key string, body []byte) string {
	return base64.StdEncoding.EncodeToString(plugintest.MAC([]byte(key), body))
}

// sign builds a delivery as Shopify's webhooks send it.
func sign(_ time.Time, key string, body []byte) *fasthttp.Request {
	return plugintest.NewRequest("/webhook/prod/shopify", "application/json", body,
		"X-Shopify-Topic", "orders/create",
		"X-Shopify-Shop-Domain", "acme-store.myshopify.com",
		"X-Shopify-API-Version", "2025-01",
		"X-Shopify-Webhook-Id", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
		"X-Shopify-Triggered-At", "2025-03-04T15:11:12.000000000Z",
		"X-Shopify-Hmac-Sha256", mac(key, body))
}

// signEvents builds a delivery with the unprefixed names of Shopify's
// newer event deliveries.
func signEvents(_ time.Time, key string, body []byte) *fasthttp.Request {
	return plugintest.NewRequest("/webhook/prod/shopify", "application/json", body,
		"shopify-topic", "orders/create",
		"shopify-shop-domain", "acme-store.myshopify.com",
		"shopify-webhook-id", "c0ffee00-bdd9-4b37-8a5f-bf7d70bcd043",
		"shopify-hmac-sha256", mac(key, body))
}

// vector is the constructed vector of shared/PROVIDERS.md, accepted there
// by @shopify/shopify-api@13.1.0 webhooks.validate with both header styles.
func vector(header string) plugintest.Vector {
	return plugintest.Vector{
		Name:   "PROVIDERS.md constructed, @shopify/shopify-api checked, " + header,
		Config: provider.Config{Secret: "shpss_test_secret"},
		Now:    time.Unix(1700000000, 0),
		Request: func() *fasthttp.Request {
			return plugintest.NewRequest("/webhook/prod/shopify", "application/json",
				[]byte(`{"id":820982911946154508,"email":"jon@example.com"}`),
				header, "LnwdZPLBbdjkBwPD/lDL1/rYEGby/GHPtL1aAH6Dxjc=")
		},
	}
}

func suiteCase(t testing.TB, sign func(time.Time, string, []byte) *fasthttp.Request, header string) plugintest.Case {
	return plugintest.Case{
		Provider: Provider{},
		Config:   provider.Config{Secret: secret, PreviousSecret: previous},
		Sign:     sign,
		Body:     plugintest.Testdata(t, "orders_create.json"),
		Field:    Field,
		Keys:     []string{"acme-store"},
		Header:   header,
		Signed:   true,
		Vectors:  []plugintest.Vector{vector("X-Shopify-Hmac-Sha256"), vector("shopify-hmac-sha256")},
	}
}

func TestConformance(t *testing.T) {
	t.Run("webhooks", func(t *testing.T) { plugintest.Run(t, suiteCase(t, sign, "X-Shopify-Hmac-Sha256")) })
	t.Run("events", func(t *testing.T) { plugintest.Run(t, suiteCase(t, signEvents, "shopify-hmac-sha256")) })
}

func TestRoute(t *testing.T) {
	inst, err := Provider{}.Provision(provider.Config{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	body := plugintest.Testdata(t, "shop_redact.json")
	tests := []struct {
		name     string
		req      *fasthttp.Request
		edit     func(*fasthttp.Request)
		key, typ string
		id       string
	}{
		{"webhooks", sign(time.Time{}, secret, body), func(*fasthttp.Request) {}, "acme-store", "orders/create", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"},
		{"events", signEvents(time.Time{}, secret, body), func(*fasthttp.Request) {}, "acme-store", "orders/create", "c0ffee00-bdd9-4b37-8a5f-bf7d70bcd043"},
		{"upper-case domain", sign(time.Time{}, secret, body), func(r *fasthttp.Request) {
			r.Header.Set("X-Shopify-Shop-Domain", "acme-store.MyShopify.COM")
		}, "acme-store", "orders/create", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"},
		{"custom domain", sign(time.Time{}, secret, body), func(r *fasthttp.Request) {
			r.Header.Set("X-Shopify-Shop-Domain", "shop.acme.com")
		}, "", "orders/create", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"},
		{"no domain, no topic, no id", sign(time.Time{}, secret, body), func(r *fasthttp.Request) {
			r.Header.Del("X-Shopify-Shop-Domain")
			r.Header.Del("X-Shopify-Topic")
			r.Header.Del("X-Shopify-Webhook-Id")
		}, "", "", ""},
	}
	for _, tt := range tests {
		tt.edit(tt.req)
		var rt provider.Routing
		if err := inst.Route(&provider.Request{Req: tt.req}, &rt); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var key string
		if len(rt.Keys) == 1 {
			key = string(rt.Keys[0])
		}
		if rt.Field != Field || key != tt.key || string(rt.EventType) != tt.typ || string(rt.EventID) != tt.id {
			t.Errorf("%s: field %q keys %q type %q id %q", tt.name, rt.Field, rt.Keys, rt.EventType, rt.EventID)
		}
	}
	var rt provider.Routing
	if err := inst.Route(&provider.Request{Req: sign(time.Time{}, secret, []byte("id=1"))}, &rt); err == nil {
		t.Error("a form body routed")
	}
}

func TestShopName(t *testing.T) {
	for in, want := range map[string]string{
		"acme.myshopify.com": "acme", "a-b-1.myshopify.com": "a-b-1", "myshopify.com": "",
		".myshopify.com": "", "a.b.myshopify.com": "", "acme.myshopify.com.evil": "", "": "",
		"evil/acme.myshopify.com": "",
	} {
		if got := string(ShopName([]byte(in))); got != want {
			t.Errorf("ShopName(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestProvision(t *testing.T) {
	for _, cfg := range []provider.Config{{}, {Secret: "s", Options: []byte(`{"x":1}`)}} {
		if _, err := (Provider{}).Provision(cfg); err == nil || !strings.HasPrefix(err.Error(), "plugins/shopify: ") {
			t.Errorf("Provision(%+v) err = %v", cfg, err)
		}
	}
}

func seeds(t testing.TB) [][]byte {
	return plugintest.Seeds(t, "customer_update.json", "orders_create.json", "shop_redact.json")
}

func FuzzVerify(f *testing.F) {
	plugintest.FuzzVerify(f, suiteCase(f, sign, "X-Shopify-Hmac-Sha256"), seeds(f))
}

func FuzzRoute(f *testing.F) {
	plugintest.FuzzRoute(f, suiteCase(f, sign, "X-Shopify-Hmac-Sha256"), seeds(f))
}
