package airtable

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/plugins/plugintest"
	"github.com/edgehook/edgehook/provider"
)

const (
	header = "X-Airtable-Content-MAC"
	// macSecret is PROVIDERS.md's macSecretBase64.
	macSecret = "YWlydGFibGUtbWFjLXNlY3JldC0zMi1ieXRlcyEhISE="
)

func sign(_ time.Time, secret string, body []byte) *fasthttp.Request {
	key, err := base64.StdEncoding.DecodeString(secret)
	if err != nil {
		key = []byte(secret)
	}
	return plugintest.Post(body, header, "hmac-sha256="+plugintest.Hex256(string(key), string(body)))
}

func suite(t testing.TB) plugintest.Case {
	return plugintest.Case{
		Provider: Provider,
		Config:   provider.Config{Secret: macSecret, PreviousSecret: "b2xkLW1hYy1zZWNyZXQtb2YtdGhlLXdlYmhvb2s="},
		Sign:     sign,
		Body:     plugintest.Testdata(t, "ping.json"),
		Field:    Field,
		Keys:     []string{"appXXXXXXXXXXXXXX"},
		Header:   header,
		Signed:   true,
	}
}

func TestConformance(t *testing.T) { plugintest.Run(t, suite(t)) }

func TestDeliveries(t *testing.T) {
	vector := plugintest.Testdata(t, "ping.json")
	const mac = "7aa0e06f26ee4c5ea29117a2c44671bf86664c63acd0c47f56a70b36e8f45c59"
	plugintest.CheckDeliveries(t, suite(t), []plugintest.Delivery{
		{Name: "documented vector", Body: vector, Header: []string{header, "hmac-sha256=" + mac}, Verify: true, Keys: []string{"appXXXXXXXXXXXXXX"}},
		{Name: "vector with a sha256= prefix", Body: vector, Header: []string{header, "sha256=" + mac}},
		{Name: "keyed with the base64 text itself", Body: vector, Header: []string{header, "hmac-sha256=" + plugintest.Hex256(macSecret, string(vector))}},
		{Name: "another base", Body: plugintest.Testdata(t, "ping_other_base.json"), Signed: true, Verify: true, Keys: []string{"app0a1B2c3D4e5F6g"}},
		{Name: "not JSON", Body: []byte(`ping`), Signed: true, Verify: true, Status: 400},
	})
}

func TestProvision(t *testing.T) {
	plugintest.CheckProvision(t, Provider, append(plugintest.PresetProvisions,
		plugintest.Provisions{Name: "secret not base64", Config: provider.Config{Secret: "not base64!"}},
		plugintest.Provisions{Name: "previous not base64", Config: provider.Config{Secret: macSecret, PreviousSecret: "%%"}},
	))
}

func seeds(t testing.TB) [][]byte { return plugintest.Seeds(t, "ping.json", "ping_other_base.json") }

func FuzzVerify(f *testing.F) { plugintest.FuzzVerify(f, suite(f), seeds(f)) }

func FuzzRoute(f *testing.F) { plugintest.FuzzRoute(f, suite(f), seeds(f)) }
