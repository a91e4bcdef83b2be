// Package pagerduty is the PagerDuty v3 webhooks provider: deliveries carry
// X-PagerDuty-Signature: v1=<hex HMAC-SHA256 of the raw body>[,v1=…], one
// entry per active secret of the webhook subscription. A PagerDuty body
// names no account, so deliveries are routed by the X-Webhook-Subscription
// header (the subscription id) to the connection config field
// subscription_id. The event type is event.event_type and the delivery id
// the X-Webhook-Id header.
//
// It is a preset of the shared HMAC mechanism: data, not code.
package pagerduty

import "github.com/edgehook/edgehook/matchers"

// Field is the connection config field subscription ids are matched with.
const Field = "subscription_id"

// Provider is the PagerDuty provider plugin.
var Provider = matchers.Preset{
	Name: "pagerduty",
	Signature: matchers.HMACConfig{
		Header:    "X-PagerDuty-Signature",
		Prefix:    "v1=",
		Separator: ',',
	},
	RouteHeader: "X-Webhook-Subscription",
	Field:       Field,
	EventType:   matchers.FromJSON("event.event_type"),
	EventID:     matchers.FromHeader("X-Webhook-Id"),
}
