// Package attio is the Attio provider: deliveries carry Attio-Signature,
// the hex HMAC-SHA256 of the raw body keyed with the webhook secret, and
// are routed by the workspace_id of their events (events.*.id.workspace_id)
// to the connection config field workspace_id. The event type is the first
// event's event_type; Attio sends no delivery id.
//
// It is a preset of the shared HMAC mechanism: data, not code.
package attio

import "github.com/edgehook/edgehook/matchers"

// Field is the connection config field workspace ids are matched with.
const Field = "workspace_id"

// Provider is the Attio provider plugin.
var Provider = matchers.Preset{
	Name:      "attio",
	Signature: matchers.HMACConfig{Header: "Attio-Signature"},
	Route:     "events.*.id.workspace_id",
	Field:     Field,
	EventType: matchers.FromJSON("events.0.event_type"),
}
