// Package paddle is the Paddle Billing provider: deliveries carry
// Paddle-Signature: ts=<unix seconds>;h1=<hex HMAC-SHA256 of ts + ":" +
// body>[;h1=…], keyed with the notification destination's secret and
// accepted within 5 minutes. Paddle's body names no seller, so there is no
// routing field: every event goes to the environment's unmatched policy,
// and one integration stands for one notification destination. The event
// type is event_type and the delivery id event_id.
//
// It is a preset of the shared HMAC mechanism: data, not code.
package paddle

import "github.com/edgehook/edgehook/matchers"

// Provider is the Paddle provider plugin.
var Provider = matchers.Preset{
	Name: "paddle",
	Signature: matchers.HMACConfig{
		Header:       "Paddle-Signature",
		Prefix:       "h1=",
		Separator:    ';',
		TimestampKey: "ts",
		Signed:       "{timestamp}:{body}",
		Tolerance:    matchers.DefaultTolerance,
	},
	EventType: matchers.FromJSON("event_type"),
	EventID:   matchers.FromJSON("event_id"),
}
