// Package box is the Box webhooks (v2) provider: each delivery is signed
// twice, BOX-SIGNATURE-PRIMARY with the application's primary key and
// BOX-SIGNATURE-SECONDARY with its secondary key (base64 HMAC-SHA256 of the
// raw body followed by the BOX-DELIVERY-TIMESTAMP value), and either may
// match its own key. The timestamp must be within 10 minutes. Deliveries
// are routed by webhook.id to the connection config field webhook_id. The
// event type is trigger and the delivery id BOX-DELIVERY-ID.
//
// It is a preset of the shared HMAC mechanism: data, not code.
package box

import (
	"time"

	"github.com/edgehook/edgehook/matchers"
)

// Field is the connection config field webhook ids are matched with.
const Field = "webhook_id"

// Provider is the Box provider plugin: webhook_secret is the primary key
// and webhook_secret_previous the secondary key.
var Provider = matchers.Preset{
	Name: "box",
	Signature: matchers.HMACConfig{
		Header:          "BOX-SIGNATURE-PRIMARY",
		Encoding:        matchers.Base64,
		Signed:          "{body}{timestamp}",
		TimestampHeader: "BOX-DELIVERY-TIMESTAMP",
		TimestampFormat: matchers.RFC3339,
		Tolerance:       10 * time.Minute,
	},
	SecondaryHeader: "BOX-SIGNATURE-SECONDARY",
	Route:           "webhook.id",
	Field:           Field,
	EventType:       matchers.FromJSON("trigger"),
	EventID:         matchers.FromHeader("BOX-DELIVERY-ID"),
}
