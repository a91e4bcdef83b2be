// Package linear is the Linear provider: Linear-Signature is the hex
// HMAC-SHA256 of the raw body (no prefix), and the body's webhookTimestamp
// (Unix milliseconds, covered by the signature) must be within one minute
// of now. Events are routed by organizationId to the connection config
// field organizationId; the event type is the body's type ("Issue") and
// the dedupe key the Linear-Delivery header.
//
// It is a preset of the shared HMAC mechanism: data, not code.
package linear

import (
	"time"

	"github.com/edgehook/edgehook/matchers"
)

// Field is the connection config field organization ids are matched with.
const Field = "organizationId"

// Tolerance is the replay window on webhookTimestamp, as in Linear's SDK.
const Tolerance = time.Minute

// Provider is the Linear provider plugin.
var Provider = matchers.Preset{
	Name: "linear",
	Signature: matchers.HMACConfig{
		Header:          "Linear-Signature",
		Algorithm:       matchers.SHA256,
		Encoding:        matchers.Hex,
		TimestampPath:   "webhookTimestamp",
		TimestampFormat: matchers.UnixMillis,
		Tolerance:       Tolerance,
	},
	Route:     "organizationId",
	Field:     Field,
	EventType: matchers.FromJSON("type"),
	EventID:   matchers.FromHeader("Linear-Delivery"),
}
