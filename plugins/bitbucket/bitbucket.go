// Package bitbucket is the Bitbucket Cloud provider: deliveries of a
// webhook with a secret carry X-Hub-Signature: sha256=<hex HMAC-SHA256 of
// the raw body>, and are routed by repository.workspace.uuid to the
// connection config field workspace_uuid. The event type is the
// X-Event-Key header and the delivery id X-Request-UUID.
//
// It is a preset of the shared HMAC mechanism: data, not code.
package bitbucket

import "github.com/edgehook/edgehook/matchers"

// Field is the connection config field workspace uuids are matched with.
const Field = "workspace_uuid"

// Provider is the Bitbucket provider plugin.
var Provider = matchers.Preset{
	Name: "bitbucket",
	Signature: matchers.HMACConfig{
		Header: "X-Hub-Signature",
		Prefix: "sha256=",
	},
	Route:     "repository.workspace.uuid",
	Field:     Field,
	EventType: matchers.FromHeader("X-Event-Key"),
	EventID:   matchers.FromHeader("X-Request-UUID"),
}
