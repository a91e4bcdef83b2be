// Package calendly is the Calendly provider: deliveries carry
// Calendly-Webhook-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
// t + "." + body>, keyed with the webhook signing key and accepted within
// 3 minutes (Calendly's own example tolerance). They are routed by
// created_by, the URI of the user who created the webhook subscription, to
// the connection config field user_uri. The event type is the body's
// event; Calendly sends no delivery id.
//
// It is a preset of the shared HMAC mechanism: data, not code.
package calendly

import (
	"time"

	"github.com/edgehook/edgehook/matchers"
)

// Field is the connection config field created_by is matched with.
const Field = "user_uri"

// Provider is the Calendly provider plugin.
var Provider = matchers.Preset{
	Name: "calendly",
	Signature: matchers.HMACConfig{
		Header:       "Calendly-Webhook-Signature",
		Prefix:       "v1=",
		Separator:    ',',
		TimestampKey: "t",
		Signed:       "{timestamp}.{body}",
		Tolerance:    3 * time.Minute,
	},
	Route:     "created_by",
	Field:     Field,
	EventType: matchers.FromJSON("event"),
}
