package config

import "encoding/json"

// Sync is one webhook-enabled sync of an integration (SPEC §8).
type Sync struct {
	Name                 string   `json:"name"`
	Model                string   `json:"model,omitempty"`
	WebhookSubscriptions []string `json:"webhook_subscriptions,omitempty"`
	RunnerURL            string   `json:"runner_url"`
}

// decodeSyncs decodes an integration's "syncs" strictly; absent or null is
// no syncs.
func decodeSyncs(raw json.RawMessage) ([]Sync, error) {
	if isNull(raw) {
		return nil, nil
	}
	var syncs []Sync
	if err := decodeStrictArray(raw, &syncs); err != nil {
		return nil, err
	}
	for _, s := range syncs {
		if s.Name == "" {
			return nil, invalidf("config: integration: syncs: name is required")
		}
		if err := checkHTTPURL("integration: syncs: runner_url", s.RunnerURL); err != nil {
			return nil, err
		}
	}
	return syncs, nil
}
