// Package asana is the Asana provider: deliveries carry X-Hook-Signature,
// the hex HMAC-SHA256 of the raw body keyed with the webhook's secret. That
// secret arrives once, in the X-Hook-Secret header of the unsigned
// handshake Asana sends while the webhook is being created: an integration
// armed with options.capture_secret (and no webhook_secret yet) accepts
// it, echoes it, and the gateway stores it as the integration's
// webhook_secret. Asana events name no workspace, so there is no routing
// field: one integration is one webhook, and its events follow the
// unmatched policy. The event type is the first event's resource type;
// Asana sends no delivery id.
package asana

import (
	"bytes"

	"github.com/edgehook/edgehook/matchers"
	"github.com/edgehook/edgehook/provider"
)

// Preset is Asana's signature scheme.
var Preset = matchers.Preset{
	Name:      "asana",
	Signature: matchers.HMACConfig{Header: "X-Hook-Signature"},
	EventType: matchers.FromJSON("events.0.resource.resource_type"),
}

// SecretHeader carries the webhook's secret in the handshake.
const SecretHeader = "X-Hook-Secret"

// Provider is the Asana provider plugin.
var Provider = matchers.WithHandshake{Preset: Preset, Handshake: handshake, Capture: true}

// handshake accepts the X-Hook-Secret handshake of an armed integration:
// 200 echoing the header, with the secret for the gateway to store.
// Otherwise (a delivery, or a handshake the integration is not armed for)
// the request is left to Verify, which refuses an unsigned handshake.
func handshake(in *matchers.PresetInstance, r *provider.Request, w *provider.Reply) (bool, error) {
	s := bytes.TrimSpace(r.Header(SecretHeader))
	if !in.Armed() || len(s) == 0 {
		return false, nil
	}
	secret := string(s)
	w.Status = 200
	w.Header = [][2]string{{SecretHeader, secret}}
	w.Secret = []byte(secret)
	return true, nil
}
