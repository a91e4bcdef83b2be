// Package square is the Square provider: deliveries carry
// x-square-hmacsha256-signature, the base64 HMAC-SHA256 of the notification
// URL + body keyed with the subscription's signature key, and are routed by
// merchant_id to the connection config field merchant_id. The URL is the
// one Square called (--public-url + path + query), so it must be
// byte-identical to the subscription's URL. The event type is type and the
// delivery id event_id.
//
// It is a preset of the shared HMAC mechanism: data, not code.
package square

import "github.com/edgehook/edgehook/matchers"

// Field is the connection config field merchant ids are matched with.
const Field = "merchant_id"

// Provider is the Square provider plugin.
var Provider = matchers.Preset{
	Name: "square",
	Signature: matchers.HMACConfig{
		Header:   "x-square-hmacsha256-signature",
		Encoding: matchers.Base64,
		Signed:   "{url}{body}",
	},
	Route:     "merchant_id",
	Field:     Field,
	EventType: matchers.FromJSON("type"),
	EventID:   matchers.FromJSON("event_id"),
}
