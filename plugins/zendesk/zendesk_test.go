package zendesk

import (
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/plugins/plugintest"
	"github.com/edgehook/edgehook/provider"
)

const (
	header   = "X-Zendesk-Webhook-Signature"
	tsHeader = "X-Zendesk-Webhook-Signature-Timestamp"
	// testSecret is the secret Zendesk signs unsaved webhooks with (used
	// as a plain string).
	testSecret = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="
)

func sign(now time.Time, key string, body []byte) *fasthttp.Request {
	ts := now.UTC().Format(time.RFC3339)
	return plugintest.Post(body, tsHeader, ts, header, plugintest.Base64256(key, ts, string(body)),
		"X-Zendesk-Account-Id", "22129848", "X-Zendesk-Webhook-Id", "01F1KRFQ6BG29CNWFR60NK5FNY",
		"X-Zendesk-Webhook-Invocation-Id", "8350205582")
}

func suite(t testing.TB) plugintest.Case {
	return plugintest.Case{
		Provider: Provider,
		Config:   provider.Config{Secret: "zendesk_signing_secret", PreviousSecret: testSecret},
		Sign:     sign,
		Body:     plugintest.Testdata(t, "ticket_created.json"),
		Field:    Field,
		Keys:     []string{"22129848"},
		Header:   header,
		Signed:   true,
	}
}

func TestConformance(t *testing.T) { plugintest.Run(t, suite(t)) }

func TestDeliveries(t *testing.T) {
	vector := []byte(`{"type":"zen:event-type:ticket.created","account_id":1,"id":"e1"}`)
	const sig, ts = "QSPOMqy+EMC0zbHHs3aPYTXXP2TavfTRfsCIQI4vXQM=", "2023-11-14T22:13:20Z"
	c := suite(t)
	c.Config.Secret = testSecret
	plugintest.CheckDeliveries(t, c, []plugintest.Delivery{
		{Name: "documented vector", Body: vector, Header: []string{header, sig, tsHeader, ts, "X-Zendesk-Account-Id", "1"},
			Verify: true, Keys: []string{"1"}, EventType: "zen:event-type:ticket.created"},
		{Name: "vector long after, no replay window", Body: vector, Header: []string{header, sig, tsHeader, ts},
			Now: time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC), Verify: true, EventType: "zen:event-type:ticket.created"},
		{Name: "vector with another timestamp", Body: vector, Header: []string{header, sig, tsHeader, "2023-11-14T22:13:21Z"}},
		{Name: "vector without timestamp", Body: vector, Header: []string{header, sig}},
		{Name: "event webhook", Body: plugintest.Testdata(t, "ticket_created.json"), Signed: true, Verify: true,
			Keys: []string{"22129848"}, EventType: "zen:event-type:ticket.created", EventID: "8350205582"},
		{Name: "trigger webhook, custom body", Body: plugintest.Testdata(t, "trigger.json"), Signed: true, Verify: true,
			Keys: []string{"22129848"}, EventID: "8350205582"},
		{Name: "empty body signs the timestamp alone", Body: nil, Signed: true, Verify: true, Status: 400},
	})
}

func TestProvision(t *testing.T) { plugintest.CheckProvision(t, Provider, plugintest.PresetProvisions) }

func seeds(t testing.TB) [][]byte { return plugintest.Seeds(t, "ticket_created.json", "trigger.json") }

func FuzzVerify(f *testing.F) { plugintest.FuzzVerify(f, suite(f), seeds(f)) }

func FuzzRoute(f *testing.F) { plugintest.FuzzRoute(f, suite(f), seeds(f)) }
