// Package github is the GitHub provider: deliveries are signed with
// X-Hub-Signature-256 (hex HMAC-SHA256 of the raw body, "sha256=" prefix)
// and routed by installation.id to the connection config field
// installation_id. The event type is X-GitHub-Event and the delivery id
// X-GitHub-Delivery. JSON and form-encoded (payload=…) deliveries are both
// accepted.
//
// It is a preset of the shared HMAC mechanism: data, not code.
package github

import "github.com/edgehook/edgehook/matchers"

// Field is the connection config field installation ids are matched with.
const Field = "installation_id"

// Provider is the GitHub provider plugin. The legacy SHA-1
// X-Hub-Signature alone is not accepted.
var Provider = matchers.Preset{
	Name: "github",
	Signature: matchers.HMACConfig{
		Header:    "X-Hub-Signature-256",
		Algorithm: matchers.SHA256,
		Encoding:  matchers.Hex,
		Prefix:    "sha256=",
	},
	Route:     "installation.id",
	Field:     Field,
	EventType: matchers.FromHeader("X-GitHub-Event"),
	EventID:   matchers.FromHeader("X-GitHub-Delivery"),
	Form:      true,
}
