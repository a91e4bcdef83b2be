// Package sentry is the Sentry integration-platform provider: deliveries
// carry Sentry-Hook-Signature, the hex HMAC-SHA256 of the raw body keyed
// with the integration's client secret, and are routed by
// installation.uuid to the connection config field installation_uuid. The
// event type is the Sentry-Hook-Resource header; Sentry sends no delivery
// id that survives a retry.
//
// It is a preset of the shared HMAC mechanism: data, not code.
package sentry

import "github.com/edgehook/edgehook/matchers"

// Field is the connection config field installation uuids are matched
// with.
const Field = "installation_uuid"

// Provider is the Sentry provider plugin.
var Provider = matchers.Preset{
	Name:      "sentry",
	Signature: matchers.HMACConfig{Header: "Sentry-Hook-Signature"},
	Route:     "installation.uuid",
	Field:     Field,
	EventType: matchers.FromHeader("Sentry-Hook-Resource"),
}
