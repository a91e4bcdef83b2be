package sentry

import (
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/plugins/plugintest"
	"github.com/edgehook/edgehook/provider"
)

const header = "Sentry-Hook-Signature"

func sign(now time.Time, key string, body []byte) *fasthttp.Request {
	return plugintest.Post(body, header, plugintest.Hex256(key, string(body)),
		"Sentry-Hook-Resource", "issue", "Sentry-Hook-Timestamp", "1700000000",
		"Request-ID", "c5f8b3c0-0b0e-4b5b-9a3e-1d2c3b4a5f60")
}

func suite(t testing.TB) plugintest.Case {
	return plugintest.Case{
		Provider: Provider,
		Config:   provider.Config{Secret: "sentry_client_secret", PreviousSecret: "sentry_old_secret"},
		Sign:     sign,
		Body:     plugintest.Testdata(t, "issue_created.json"),
		Field:    Field,
		Keys:     []string{"a8e5d37a-696c-4c54-adb5-b3f28d64c7de"},
		Header:   header,
		Signed:   true,
	}
}

func TestConformance(t *testing.T) { plugintest.Run(t, suite(t)) }

func TestDeliveries(t *testing.T) {
	vector := []byte(`{"action":"created","installation":{"uuid":"inst_1"},"data":{"issue":{"id":"1"}},"actor":{"type":"application","id":"sentry","name":"Sentry"}}`)
	plugintest.CheckDeliveries(t, suite(t), []plugintest.Delivery{
		{Name: "documented vector", Body: vector, Header: []string{header, "0aada01f4451a20cb565a0dabf898d168bd2fea21cbd1fca38cccc767cc5640a",
			"Sentry-Hook-Resource", "issue"}, Verify: true, Keys: []string{"inst_1"}, EventType: "issue"},
		{Name: "issue", Body: plugintest.Testdata(t, "issue_created.json"), Signed: true, Verify: true,
			Keys: []string{"a8e5d37a-696c-4c54-adb5-b3f28d64c7de"}, EventType: "issue"},
		{Name: "installation", Body: plugintest.Testdata(t, "installation_created.json"), Signed: true,
			Header: []string{"Sentry-Hook-Resource", "installation"}, Verify: true,
			Keys: []string{"7a485448-a9e2-4c85-8a3c-4f44175783c9"}, EventType: "installation"},
		{Name: "without resource header", Body: plugintest.Testdata(t, "issue_created.json"), Signed: true,
			Header: []string{"Sentry-Hook-Resource", ""}, Verify: true, Keys: []string{"a8e5d37a-696c-4c54-adb5-b3f28d64c7de"}},
		{Name: "not JSON", Body: []byte(`action=created`), Signed: true, Verify: true, Status: 400},
	})
}

func TestProvision(t *testing.T) { plugintest.CheckProvision(t, Provider, plugintest.PresetProvisions) }

func seeds(t testing.TB) [][]byte {
	return plugintest.Seeds(t, "issue_created.json", "installation_created.json")
}

func FuzzVerify(f *testing.F) { plugintest.FuzzVerify(f, suite(f), seeds(f)) }

func FuzzRoute(f *testing.F) { plugintest.FuzzRoute(f, suite(f), seeds(f)) }
