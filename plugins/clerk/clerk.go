// Package clerk is the Clerk provider. Clerk sends its webhooks through
// Svix, in the Standard Webhooks scheme with svix-* header names:
// svix-signature holds "v1,<base64 HMAC-SHA256 of svix-id.svix-timestamp.body>"
// entries separated by spaces, keyed with the base64 part of the whsec_
// signing secret, and svix-timestamp must be within 5 minutes. Deliveries
// are routed by instance_id (the Clerk instance) to the connection config
// field instance_id. The event type is type and the delivery id svix-id.
//
// It is a preset of the shared HMAC mechanism: data, not code.
package clerk

import "github.com/edgehook/edgehook/matchers"

// Field is the connection config field instance ids are matched with.
const Field = "instance_id"

// Provider is the Clerk provider plugin.
var Provider = matchers.Preset{
	Name: "clerk",
	Signature: matchers.HMACConfig{
		Header:          "svix-signature",
		Encoding:        matchers.Base64,
		Prefix:          "v1,",
		Separator:       ' ',
		Signed:          "{id}.{timestamp}.{body}",
		TimestampHeader: "svix-timestamp",
		IDHeader:        "svix-id",
	},
	Key:       matchers.KeyWhsec,
	Route:     "instance_id",
	Field:     Field,
	EventType: matchers.FromJSON("type"),
	EventID:   matchers.FromHeader("svix-id"),
}
