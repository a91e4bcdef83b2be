// Package typeform is the Typeform provider: deliveries carry
// Typeform-Signature: sha256=<base64 HMAC-SHA256 of the raw body>, keyed
// with the webhook secret, and are routed by form_response.form_id to the
// connection config field form_id. The event type is event_type and the
// delivery id event_id.
//
// It is a preset of the shared HMAC mechanism: data, not code.
package typeform

import "github.com/edgehook/edgehook/matchers"

// Field is the connection config field form ids are matched with.
const Field = "form_id"

// Provider is the Typeform provider plugin.
var Provider = matchers.Preset{
	Name: "typeform",
	Signature: matchers.HMACConfig{
		Header:   "Typeform-Signature",
		Encoding: matchers.Base64,
		Prefix:   "sha256=",
	},
	Route:     "form_response.form_id",
	Field:     Field,
	EventType: matchers.FromJSON("event_type"),
	EventID:   matchers.FromJSON("event_id"),
}
