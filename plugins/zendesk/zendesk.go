// Package zendesk is the Zendesk webhooks provider: deliveries carry
// X-Zendesk-Webhook-Signature, the base64 HMAC-SHA256 of
// X-Zendesk-Webhook-Signature-Timestamp + body keyed with the webhook's
// signing secret, the timestamp being signed as sent. They are routed by
// the X-Zendesk-Account-Id header to the connection config field
// account_id. The event type is the body's type and the delivery id the
// X-Zendesk-Webhook-Invocation-Id header.
//
// It is a preset of the shared HMAC mechanism: data, not code.
package zendesk

import "github.com/edgehook/edgehook/matchers"

// Field is the connection config field account ids are matched with.
const Field = "account_id"

// Provider is the Zendesk provider plugin.
var Provider = matchers.Preset{
	Name: "zendesk",
	Signature: matchers.HMACConfig{
		Header:          "X-Zendesk-Webhook-Signature",
		Encoding:        matchers.Base64,
		Signed:          "{timestamp}{body}",
		TimestampHeader: "X-Zendesk-Webhook-Signature-Timestamp",
		TimestampFormat: matchers.Opaque,
	},
	RouteHeader: "X-Zendesk-Account-Id",
	Field:       Field,
	EventType:   matchers.FromJSON("type"),
	EventID:     matchers.FromHeader("X-Zendesk-Webhook-Invocation-Id"),
}
