// Package xero is the Xero provider: deliveries carry x-xero-signature, the
// base64 HMAC-SHA256 of the raw body keyed with the webhook key, and are
// routed by the tenantId of each event (events.*.tenantId) to the
// connection config field tenant_id. The event type is the first event's
// eventCategory; Xero sends no delivery id.
//
// Xero checks an endpoint ("intent to receive") with payloads without
// events, some correctly signed and some not, expecting 200 to the first
// and 401 to the others, with an empty body. The gateway answers a signed
// one itself (never forwarding it) and the unsigned ones fail Verify; it
// acknowledges every event with an empty 200 too.
package xero

import (
	"bytes"

	"github.com/buger/jsonparser"

	"github.com/edgehook/edgehook/matchers"
	"github.com/edgehook/edgehook/provider"
)

// Field is the connection config field tenant ids are matched with.
const Field = "tenant_id"

// Preset is Xero's signature scheme and routing.
var Preset = matchers.Preset{
	Name: "xero",
	Signature: matchers.HMACConfig{
		Header:   "x-xero-signature",
		Encoding: matchers.Base64,
	},
	Route:     "events.*.tenantId",
	Field:     Field,
	EventType: matchers.FromJSON("events.0.eventCategory"),
}

// Provider is the Xero provider plugin.
type Provider struct{}

// ID returns "xero".
func (Provider) ID() string { return Preset.Name }

// Provision compiles the preset.
func (Provider) Provision(cfg provider.Config) (provider.Instance, error) {
	in, err := Preset.Compile(cfg)
	if err != nil {
		return nil, err
	}
	return &Instance{in}, nil
}

// Instance is a provisioned Xero integration.
type Instance struct{ *matchers.PresetInstance }

// Handshake answers a correctly signed intent-to-receive payload (an
// empty events array) with an empty 200. Any other request, and one that
// does not verify, is left to Verify.
func (in *Instance) Handshake(r *provider.Request, w *provider.Reply) (bool, error) {
	v, t, _, err := jsonparser.Get(r.Body(), "events")
	if err != nil || t != jsonparser.Array || len(bytes.TrimSpace(v[1:len(v)-1])) != 0 {
		return false, nil
	}
	if ok, err := in.Verify(r); !ok || err != nil {
		return false, err
	}
	w.Status = 200
	return true, nil
}

// Ack answers an accepted delivery with 200 and an empty body, as Xero
// asks of its endpoints.
func (in *Instance) Ack(_ *provider.Request, w *provider.Reply) { w.Status = 200 }

// Interface guards.
var (
	_ provider.Provider   = Provider{}
	_ provider.Instance   = (*Instance)(nil)
	_ provider.Handshaker = (*Instance)(nil)
	_ provider.Acker      = (*Instance)(nil)
)
