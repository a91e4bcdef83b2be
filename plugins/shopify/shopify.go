// Package shopify is the Shopify provider: X-Shopify-Hmac-Sha256 is the
// base64 HMAC-SHA256 of the raw body with the app's client secret. Events
// are routed by the shop name in X-Shopify-Shop-Domain
// ("<name>.myshopify.com") to the connection config field subdomain; the
// event type is X-Shopify-Topic and the dedupe key X-Shopify-Webhook-Id.
// The unprefixed header names of Shopify's newer event deliveries
// (shopify-hmac-sha256, shopify-topic, …) are accepted too.
package shopify

import (
	"bytes"
	"encoding/json"

	"github.com/edgehook/edgehook/matchers"
	"github.com/edgehook/edgehook/provider"
)

// Field is the connection config field shop names are matched with.
const Field = "subdomain"

// domainSuffix ends every shop's permanent domain.
var domainSuffix = []byte(".myshopify.com")

// Header names, each with its unprefixed form.
var (
	shopDomain = [2]string{"X-Shopify-Shop-Domain", "shopify-shop-domain"}
	topic      = [2]string{"X-Shopify-Topic", "shopify-topic"}
	webhookID  = [2]string{"X-Shopify-Webhook-Id", "shopify-webhook-id"}
)

var errNotJSON = provider.BadRequest("plugins/shopify: body is not valid JSON")

// preset is the signature scheme; routing is the plugin's own.
var preset = matchers.Preset{
	Name: "shopify",
	Signature: matchers.HMACConfig{
		Header:    "X-Shopify-Hmac-Sha256",
		AltHeader: "shopify-hmac-sha256",
		Algorithm: matchers.SHA256,
		Encoding:  matchers.Base64,
	},
}

// Provider is the Shopify provider plugin.
type Provider struct{}

// ID returns "shopify".
func (Provider) ID() string { return preset.Name }

// Provision compiles the signature matcher for webhook_secret (the app's
// client secret) and webhook_secret_previous: after a secret rotation
// Shopify may sign with the old one for up to an hour.
func (Provider) Provision(cfg provider.Config) (provider.Instance, error) {
	in, err := preset.Compile(cfg)
	if err != nil {
		return nil, err
	}
	return &Instance{PresetInstance: in}, nil
}

// Instance is a provisioned Shopify integration; Verify is the preset's.
type Instance struct {
	*matchers.PresetInstance
}

// Route reports the shop name as the routing key (none when the domain is
// not a myshopify.com one), the topic and the webhook id. The body must be
// JSON; it is forwarded verbatim.
func (in *Instance) Route(r *provider.Request, rt *provider.Routing) error {
	if !json.Valid(r.Body()) {
		return errNotJSON
	}
	rt.Field = Field
	if name := ShopName(header(r, shopDomain)); name != nil {
		rt.AddKey(name)
	}
	rt.EventType = header(r, topic)
	rt.EventID = header(r, webhookID)
	return nil
}

// header returns the first non-empty value of the header's two names.
func header(r *provider.Request, names [2]string) []byte {
	if v := r.Header(names[0]); len(v) > 0 {
		return v
	}
	if v := r.Header(names[1]); len(v) > 0 {
		return v
	}
	return nil
}

// ShopName returns the shop name of a permanent shop domain
// ("acme.myshopify.com" → "acme", the suffix matched case-insensitively),
// or nil when domain is not one. The result borrows from domain.
func ShopName(domain []byte) []byte {
	n := len(domain) - len(domainSuffix)
	if n <= 0 || !bytes.EqualFold(domain[n:], domainSuffix) {
		return nil
	}
	name := domain[:n]
	if bytes.IndexByte(name, '.') >= 0 || bytes.IndexByte(name, '/') >= 0 {
		return nil
	}
	return name
}

// Interface guards.
var (
	_ provider.Provider = Provider{}
	_ provider.Instance = (*Instance)(nil)
)
