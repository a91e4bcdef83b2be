// Package airtable is the Airtable provider: webhook notifications carry
// X-Airtable-Content-MAC: hmac-sha256=<hex HMAC-SHA256 of the raw body>,
// keyed with the base64-decoded macSecretBase64 Airtable returned when the
// webhook was created, and are routed by base.id to the connection config
// field base_id. Notifications are thin pings (the app then lists the
// webhook's payloads itself): no event type, no delivery id.
//
// It is a preset of the shared HMAC mechanism: data, not code.
package airtable

import "github.com/edgehook/edgehook/matchers"

// Field is the connection config field base ids are matched with.
const Field = "base_id"

// Provider is the Airtable provider plugin.
var Provider = matchers.Preset{
	Name: "airtable",
	Signature: matchers.HMACConfig{
		Header: "X-Airtable-Content-MAC",
		Prefix: "hmac-sha256=",
	},
	Key:   matchers.KeyBase64,
	Route: "base.id",
	Field: Field,
}
