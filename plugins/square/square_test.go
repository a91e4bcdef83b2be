package square

import (
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/plugins/plugintest"
	"github.com/edgehook/edgehook/provider"
)

const header = "x-square-hmacsha256-signature"

// sign signs url + body for the request plugintest sends: the suite leaves
// Request.URL empty, so the signed URL is ""; the vectors below cover the
// URL.
func sign(_ time.Time, key string, body []byte) *fasthttp.Request {
	return plugintest.Post(body, header, plugintest.Base64256(key, string(body)), "square-version", "2023-10-18")
}

func suite(t testing.TB) plugintest.Case {
	return plugintest.Case{
		Provider: Provider,
		Config:   provider.Config{Secret: "square_signature_key", PreviousSecret: "square_old_key"},
		Sign:     sign,
		Body:     plugintest.Testdata(t, "payment_created.json"),
		Field:    Field,
		Keys:     []string{"6SSW7HV8K2ST5"},
		Header:   header,
		Signed:   true,
	}
}

func TestConformance(t *testing.T) { plugintest.Run(t, suite(t)) }

func TestDeliveries(t *testing.T) {
	const url = "https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9"
	const sig = "GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4="
	vector := plugintest.Testdata(t, "test_notification.json")
	c := suite(t)
	c.Config.Secret = "Ibxx_5AKakO-3qeNVR61Dw"
	plugintest.CheckDeliveries(t, c, []plugintest.Delivery{
		{Name: "published vector", Body: vector, URL: url, Header: []string{header, sig}, Verify: true,
			Keys: []string{"MLEFBHHSJGVHD"}, EventType: "webhooks.test_notification", EventID: "ac3ac95b-f97d-458c-a6e6-18981597e05f"},
		{Name: "vector at another URL", Body: vector, URL: url + "/", Header: []string{header, sig}},
		{Name: "vector without the URL", Body: vector, Header: []string{header, sig}},
		{Name: "vector at http", Body: vector, URL: "http" + url[5:], Header: []string{header, sig}},
	})
	c.Config.Secret = "signature-key"
	plugintest.CheckDeliveries(t, c, []plugintest.Delivery{
		{Name: "published escaping vector", Body: []byte(`{"data":{"type":"webhooks","id":">id<"}}`), URL: "https://webhook.site/webhooks",
			Header: []string{header, "Cxt7+aTi4rKgcA0bC4g9EHdVtLSDWdqccmL5MvihU4U="}, Verify: true},
	})
}

func TestSignsURL(t *testing.T) {
	inst, err := Provider.Provision(provider.Config{Secret: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if u, ok := inst.(provider.URLSigner); !ok || !u.SignsURL() {
		t.Fatal("square instance does not ask the gateway for the public URL")
	}
}

func TestProvision(t *testing.T) { plugintest.CheckProvision(t, Provider, plugintest.PresetProvisions) }

func seeds(t testing.TB) [][]byte {
	return plugintest.Seeds(t, "payment_created.json", "test_notification.json")
}

func FuzzVerify(f *testing.F) { plugintest.FuzzVerify(f, suite(f), seeds(f)) }

func FuzzRoute(f *testing.F) { plugintest.FuzzRoute(f, suite(f), seeds(f)) }
