package config

import (
	"errors"
	"testing"
)

func TestSyncSubscribed(t *testing.T) {
	s := Sync{WebhookSubscriptions: []string{"issues", "contact.*"}}
	all := Sync{WebhookSubscriptions: []string{"*"}}
	none := Sync{}
	tests := []struct {
		sync *Sync
		typ  string
		want bool
	}{
		{&s, "issues", true},
		{&s, "issue", false},
		{&s, "issues.opened", false},
		{&s, "push", false},
		{&s, "contact.creation", true},
		{&s, "contact.", true},
		{&s, "contact", false},
		{&s, "", false},
		{&all, "push", true},
		{&all, "", true}, // an event whose type is unknown
		{&none, "issues", false},
	}
	for _, tt := range tests {
		if got := tt.sync.Subscribed([]byte(tt.typ)); got != tt.want {
			t.Errorf("%v.Subscribed(%q) = %v, want %v", tt.sync.WebhookSubscriptions, tt.typ, got, tt.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { s.Subscribed([]byte("contact.creation")) }); n != 0 {
		t.Errorf("Subscribed allocates %v times", n)
	}
}

func TestDecodeSyncs(t *testing.T) {
	good := `[{"name":"issues","model":"Issue","webhook_subscriptions":["issues","pull_request.*","*"],"runner_url":"https://runner.example/run"}]`
	syncs, err := decodeSyncs([]byte(good))
	if err != nil || len(syncs) != 1 || syncs[0].Model != "Issue" || len(syncs[0].WebhookSubscriptions) != 3 {
		t.Fatalf("decodeSyncs(good) = %+v, %v", syncs, err)
	}
	if syncs, err := decodeSyncs([]byte(`null`)); syncs != nil || err != nil {
		t.Fatalf("decodeSyncs(null) = %v, %v", syncs, err)
	}
	bad := map[string]string{
		"not an array":       `{"name":"s"}`,
		"unknown field":      `[{"name":"s","model":"M","runner_url":"https://r.example","extra":1}]`,
		"no name":            `[{"model":"M","runner_url":"https://r.example"}]`,
		"no model":           `[{"name":"s","runner_url":"https://r.example"}]`,
		"same name twice":    `[{"name":"s","model":"M","runner_url":"https://r.example"},{"name":"s","model":"N","runner_url":"https://r.example"}]`,
		"no runner":          `[{"name":"s","model":"M"}]`,
		"runner not http":    `[{"name":"s","model":"M","runner_url":"ftp://r.example"}]`,
		"empty subscription": `[{"name":"s","model":"M","runner_url":"https://r.example","webhook_subscriptions":[""]}]`,
		"inner star":         `[{"name":"s","model":"M","runner_url":"https://r.example","webhook_subscriptions":["a*b"]}]`,
	}
	for name, js := range bad {
		var ve *ValidationError
		if _, err := decodeSyncs([]byte(js)); !errors.As(err, &ve) {
			t.Errorf("%s: decodeSyncs = %v, want a ValidationError", name, err)
		}
	}
}

func BenchmarkSyncSubscribed(b *testing.B) {
	s := Sync{WebhookSubscriptions: []string{"issues", "pull_request", "contact.*"}}
	typ := []byte("contact.creation")
	b.ReportAllocs()
	for b.Loop() {
		s.Subscribed(typ)
	}
}
