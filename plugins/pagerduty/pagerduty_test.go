package pagerduty

import (
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/plugins/plugintest"
	"github.com/edgehook/edgehook/provider"
)

const header = "X-PagerDuty-Signature"

func sign(_ time.Time, key string, body []byte) *fasthttp.Request {
	return plugintest.Post(body, header, "v1="+plugintest.Hex256(key, string(body)),
		"X-Webhook-Id", "2a19e6f6-0b5e-4d6c-9f3c-7a1b2c3d4e5f", "X-Webhook-Subscription", "PY1OL64")
}

func suite(t testing.TB) plugintest.Case {
	return plugintest.Case{
		Provider: Provider,
		Config:   provider.Config{Secret: "pd_secret_new", PreviousSecret: "pd_secret_old"},
		Sign:     sign,
		Body:     plugintest.Testdata(t, "incident_priority_updated.json"),
		Field:    Field,
		Keys:     []string{"PY1OL64"},
		Header:   header,
		Signed:   true,
	}
}

func TestConformance(t *testing.T) { plugintest.Run(t, suite(t)) }

func TestDeliveries(t *testing.T) {
	vector := []byte(`{"event":{"id":"01","event_type":"incident.triggered","resource_type":"incident","occurred_at":"2023-11-14T22:13:20Z","data":{"id":"PGR0VU2"}}}`)
	const newSig = "v1=e979c504f27e4be35ac5b3829f65bd3a96cf3ba9a935158a98718da334afc627"
	const oldSig = "v1=eb068cbd6103dd8e20a143db40d4b99190456ea4355739996f419c7caff00f47"
	cases := []plugintest.Delivery{
		{Name: "documented vector", Body: vector, Header: []string{header, newSig + "," + oldSig}, Verify: true, EventType: "incident.triggered"},
		{Name: "old secret's entry alone", Body: vector, Header: []string{header, oldSig}, Verify: true, EventType: "incident.triggered"},
		{Name: "entries reversed, spaced", Body: vector, Header: []string{header, oldSig + " , " + newSig}, Verify: true, EventType: "incident.triggered"},
		{Name: "incident", Body: plugintest.Testdata(t, "incident_priority_updated.json"), Signed: true, Verify: true,
			Keys: []string{"PY1OL64"}, EventType: "incident.priority_updated", EventID: "2a19e6f6-0b5e-4d6c-9f3c-7a1b2c3d4e5f"},
		{Name: "service", Body: plugintest.Testdata(t, "service_updated.json"), Signed: true, Header: []string{"X-Webhook-Subscription", "PZZZ999"},
			Verify: true, Keys: []string{"PZZZ999"}, EventType: "service.updated", EventID: "2a19e6f6-0b5e-4d6c-9f3c-7a1b2c3d4e5f"},
		{Name: "not JSON", Body: []byte(`event`), Signed: true, Verify: true, Status: 400},
	}
	plugintest.CheckDeliveries(t, suite(t), cases)
	c := suite(t)
	c.Config = provider.Config{Secret: "pd_secret_old"}
	plugintest.CheckDeliveries(t, c, cases[:1])
	c.Config = provider.Config{Secret: "pd_secret_other"}
	cases[0].Verify = false
	plugintest.CheckDeliveries(t, c, cases[:1])
}

func TestProvision(t *testing.T) { plugintest.CheckProvision(t, Provider, plugintest.PresetProvisions) }

func seeds(t testing.TB) [][]byte {
	return plugintest.Seeds(t, "incident_priority_updated.json", "service_updated.json")
}

func FuzzVerify(f *testing.F) { plugintest.FuzzVerify(f, suite(f), seeds(f)) }

func FuzzRoute(f *testing.F) { plugintest.FuzzRoute(f, suite(f), seeds(f)) }
