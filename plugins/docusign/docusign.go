// Package docusign is the DocuSign Connect provider (HMAC security): each
// active Connect HMAC key signs the raw body, and the signatures arrive in
// X-DocuSign-Signature-1, -2, … (base64 HMAC-SHA256), any of which may match
// the integration's secrets. Deliveries are routed by data.accountId to the
// connection config field account_id. The event type is event; Connect
// sends no delivery id.
//
// It is a preset of the shared HMAC mechanism: data, not code.
package docusign

import "github.com/edgehook/edgehook/matchers"

// Field is the connection config field account ids are matched with.
const Field = "account_id"

// Provider is the DocuSign provider plugin.
var Provider = matchers.Preset{
	Name: "docusign",
	Signature: matchers.HMACConfig{
		Header:   "X-DocuSign-Signature-",
		Encoding: matchers.Base64,
	},
	Numbered:  matchers.MaxNumbered,
	Route:     "data.accountId",
	Field:     Field,
	EventType: matchers.FromJSON("event"),
}
