// Package intercom is the Intercom provider: deliveries carry
// X-Hub-Signature: sha1=<hex HMAC-SHA1 of the raw body>, keyed with the
// app's client secret, and are routed by app_id (the Intercom workspace) to
// the connection config field app_id. The event type is the body's topic
// and the delivery id its id.
//
// It is a preset of the shared HMAC mechanism: data, not code.
package intercom

import "github.com/edgehook/edgehook/matchers"

// Field is the connection config field app_id is matched with.
const Field = "app_id"

// Provider is the Intercom provider plugin.
var Provider = matchers.Preset{
	Name: "intercom",
	Signature: matchers.HMACConfig{
		Header:    "X-Hub-Signature",
		Algorithm: matchers.SHA1,
		Prefix:    "sha1=",
	},
	Route:     "app_id",
	Field:     Field,
	EventType: matchers.FromJSON("topic"),
	EventID:   matchers.FromJSON("id"),
}
