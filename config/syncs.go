package config

import (
	"encoding/json"
	"strings"
)

// Sync is one webhook-enabled sync of an integration (SPEC §8).
type Sync struct {
	Name                 string   `json:"name"`
	Model                string   `json:"model"`
	WebhookSubscriptions []string `json:"webhook_subscriptions,omitempty"`
	RunnerURL            string   `json:"runner_url"`
}

// Subscribed reports whether the sync subscribes to events of type
// eventType: a subscription equal to it, "*" (every event, also one
// whose type is unknown), or a prefix of it ending in "*" ("contact.*").
// It does not allocate.
func (s *Sync) Subscribed(eventType []byte) bool {
	for _, sub := range s.WebhookSubscriptions {
		if prefix, ok := strings.CutSuffix(sub, "*"); ok {
			if len(eventType) >= len(prefix) && string(eventType[:len(prefix)]) == prefix {
				return true
			}
		} else if string(eventType) == sub {
			return true
		}
	}
	return false
}

// decodeSyncs decodes an integration's "syncs" strictly; absent or null is
// no syncs. Each sync needs a name (unique in the integration), a model
// and an http(s) runner_url; a subscription is not empty and has "*" only
// at its end.
func decodeSyncs(raw json.RawMessage) ([]Sync, error) {
	if isNull(raw) {
		return nil, nil
	}
	var syncs []Sync
	if err := decodeStrictArray(raw, &syncs); err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(syncs))
	for _, s := range syncs {
		switch {
		case s.Name == "":
			return nil, invalidf("config: integration: syncs: name is required")
		case seen[s.Name]:
			return nil, invalidf("config: integration: syncs: name %q appears twice", s.Name)
		case s.Model == "":
			return nil, invalidf("config: integration: syncs: %q: model is required", s.Name)
		}
		seen[s.Name] = true
		for _, sub := range s.WebhookSubscriptions {
			if sub == "" || strings.Contains(strings.TrimSuffix(sub, "*"), "*") {
				return nil, invalidf("config: integration: syncs: %q: subscription %q: want an event type, a prefix ending in \"*\", or \"*\"", s.Name, sub)
			}
		}
		if err := checkHTTPURL("integration: syncs: runner_url", s.RunnerURL); err != nil {
			return nil, err
		}
	}
	return syncs, nil
}
