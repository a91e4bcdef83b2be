package typeform

import (
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/plugins/plugintest"
	"github.com/edgehook/edgehook/provider"
)

const header = "Typeform-Signature"

func sign(_ time.Time, key string, body []byte) *fasthttp.Request {
	return plugintest.Post(body, header, "sha256="+plugintest.Base64256(key, string(body)))
}

func suite(t testing.TB) plugintest.Case {
	return plugintest.Case{
		Provider: Provider,
		Config:   provider.Config{Secret: "typeform_secret", PreviousSecret: "typeform_old_secret"},
		Sign:     sign,
		Body:     plugintest.Testdata(t, "form_response.json"),
		Field:    Field,
		Keys:     []string{"lT4Z3j"},
		Header:   header,
		Signed:   true,
	}
}

func TestConformance(t *testing.T) { plugintest.Run(t, suite(t)) }

func TestDeliveries(t *testing.T) {
	vector := []byte(`{"event_id":"01HTEST","event_type":"form_response","form_response":{"form_id":"abc"}}`)
	const sig = "sha256=APoQyt84XEmoVy8RiQYKcC6jTA/eNvVvXep7znIWCkM="
	plugintest.CheckDeliveries(t, suite(t), []plugintest.Delivery{
		{Name: "documented vector", Body: vector, Header: []string{header, sig},
			Verify: true, Keys: []string{"abc"}, EventType: "form_response", EventID: "01HTEST"},
		{Name: "vector as hex", Body: vector, Header: []string{header, "sha256=00fa10cadf385c49a8572f1189060a702ea34c0fde36f56f5dea7bce72160a43"}},
		{Name: "vector without prefix", Body: vector, Header: []string{header, sig[7:]}},
		{Name: "form_response", Body: plugintest.Testdata(t, "form_response.json"), Signed: true, Verify: true,
			Keys: []string{"lT4Z3j"}, EventType: "form_response", EventID: "01HF7Q9Z2T8X4K3M5N6P7R8S9V"},
		{Name: "partial response", Body: plugintest.Testdata(t, "partial_response.json"), Signed: true, Verify: true,
			Keys: []string{"xY9qWe"}, EventType: "form_response_partial", EventID: "01HF7QB0AAAAAAAAAAAAAAAAAA"},
		{Name: "not JSON", Body: []byte(`form_id=abc`), Signed: true, Verify: true, Status: 400},
	})
}

func TestProvision(t *testing.T) { plugintest.CheckProvision(t, Provider, plugintest.PresetProvisions) }

func seeds(t testing.TB) [][]byte {
	return plugintest.Seeds(t, "form_response.json", "partial_response.json")
}

func FuzzVerify(f *testing.F) { plugintest.FuzzVerify(f, suite(f), seeds(f)) }

func FuzzRoute(f *testing.F) { plugintest.FuzzRoute(f, suite(f), seeds(f)) }
