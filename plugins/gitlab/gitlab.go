// Package gitlab is the GitLab provider: project, group and system hooks
// carry the hook's secret token verbatim in X-Gitlab-Token, compared in
// constant time with webhook_secret. Events are routed by project.id to the
// connection config field project_id; the event type is X-Gitlab-Event and
// the delivery id Idempotency-Key (the same on every retry).
//
// It is a preset of the shared token mechanism: data, not code.
package gitlab

import "github.com/edgehook/edgehook/matchers"

// Field is the connection config field project ids are matched with.
const Field = "project_id"

// Provider is the GitLab provider plugin.
var Provider = matchers.TokenPreset{
	Name:      "gitlab",
	Token:     matchers.TokenConfig{Header: "X-Gitlab-Token"},
	Route:     "project.id",
	Field:     Field,
	EventType: matchers.FromHeader("X-Gitlab-Event"),
	EventID:   matchers.FromHeader("Idempotency-Key"),
}
