// Package notion is the Notion provider: deliveries carry
// X-Notion-Signature: sha256=<hex HMAC-SHA256 of the raw body>, keyed with
// the subscription's verification_token, and are routed by workspace_id
// to the connection config field workspace_id. The event type is type and
// the delivery id the event's id.
//
// The verification_token arrives once, in an unsigned POST Notion sends
// when the subscription is created: an integration armed with
// options.capture_secret (and no webhook_secret yet) accepts it, and the
// gateway stores it as the integration's webhook_secret.
package notion

import (
	"github.com/edgehook/edgehook/matchers"
	"github.com/edgehook/edgehook/provider"
)

// Field is the connection config field workspace ids are matched with.
const Field = "workspace_id"

const header = "X-Notion-Signature"

// Preset is Notion's signature scheme and routing.
var Preset = matchers.Preset{
	Name: "notion",
	Signature: matchers.HMACConfig{
		Header: header,
		Prefix: "sha256=",
	},
	Route:     "workspace_id",
	Field:     Field,
	EventType: matchers.FromJSON("type"),
	EventID:   matchers.FromJSON("id"),
}

var tokenPath = matchers.MustCompilePath("verification_token")

// Provider is the Notion provider plugin.
var Provider = matchers.WithHandshake{Preset: Preset, Handshake: handshake, Capture: true}

// handshake accepts the verification request of an armed integration (an
// unsigned JSON body with a verification_token): an empty 200, with the
// token for the gateway to store. Otherwise the request is left to Verify,
// which refuses an unsigned one.
func handshake(in *matchers.PresetInstance, r *provider.Request, w *provider.Reply) (bool, error) {
	if !in.Armed() || len(r.Header(header)) > 0 {
		return false, nil
	}
	token, _ := tokenPath.Text(r.Body(), nil)
	if len(token) == 0 {
		return false, nil
	}
	w.Status = 200
	w.Secret = append([]byte(nil), token...)
	return true, nil
}
