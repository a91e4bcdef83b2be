package docusign

import (
	"strconv"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/plugins/plugintest"
	"github.com/edgehook/edgehook/provider"
)

const (
	header = "X-DocuSign-Signature-1"
	acct   = "9f1c5a3e-6b2d-4e8f-a1c7-3d5e7f9b1a2c"
)

func sign(_ time.Time, key string, body []byte) *fasthttp.Request {
	return plugintest.Post(body, header, plugintest.Base64256(key, string(body)))
}

func suite(t testing.TB) plugintest.Case {
	return plugintest.Case{
		Provider: Provider,
		Config:   provider.Config{Secret: "docusign_hmac_key", PreviousSecret: "docusign_old_key"},
		Sign:     sign,
		Body:     plugintest.Testdata(t, "envelope_completed.json"),
		Field:    Field,
		Keys:     []string{acct},
		Header:   header,
		Signed:   true,
	}
}

func TestConformance(t *testing.T) { plugintest.Run(t, suite(t)) }

func TestDeliveries(t *testing.T) {
	vector := []byte(`{"event":"envelope-completed","apiVersion":"v2.1","data":{"envelopeId":"e1"}}`)
	const sig = "1ujqKnVv0GYi8CI9X00idxDPC9CPsDTgdVWssffbJA4="
	other := plugintest.Base64256("a key not configured", string(vector))
	body := plugintest.Testdata(t, "envelope_completed.json")
	plugintest.CheckDeliveries(t, suite(t), []plugintest.Delivery{
		{Name: "documented vector", Body: vector, Header: []string{header, sig}, Verify: true, EventType: "envelope-completed"},
		{Name: "vector in the second header", Body: vector, Header: []string{header, other, "X-DocuSign-Signature-2", sig},
			Verify: true, EventType: "envelope-completed"},
		{Name: "vector in the 100th header", Body: vector, Header: numbered(other, 99, sig), Verify: true, EventType: "envelope-completed"},
		{Name: "vector in the 101st header", Body: vector, Header: numbered(other, 100, sig)},
		{Name: "vector after a gap", Body: vector, Header: []string{header, other, "X-DocuSign-Signature-3", sig}},
		{Name: "unknown keys only", Body: vector, Header: []string{header, other, "X-DocuSign-Signature-2", other}},
		{Name: "envelope-completed", Body: body, Signed: true, Verify: true, Keys: []string{acct}, EventType: "envelope-completed"},
		{Name: "previous key in the second header", Body: body, Verify: true, Keys: []string{acct}, EventType: "envelope-completed",
			Header: []string{header, other, "X-DocuSign-Signature-2", plugintest.Base64256("docusign_old_key", string(body))}},
		{Name: "recipient-sent", Body: plugintest.Testdata(t, "recipient_sent.json"), Signed: true, Verify: true,
			Keys: []string{"0b7d9f1a-3c5e-4a7b-8d9f-1a3c5e7b9d0f"}, EventType: "recipient-sent"},
		{Name: "XML (Connect's legacy format)", Body: []byte(`<DocuSignEnvelopeInformation/>`), Signed: true, Verify: true, Status: 400},
	})
}

// numbered returns headers -1 … -n holding filler, then -(n+1) holding sig.
func numbered(filler string, n int, sig string) []string {
	var h []string
	for i := 1; i <= n; i++ {
		h = append(h, "X-DocuSign-Signature-"+strconv.Itoa(i), filler)
	}
	return append(h, "X-DocuSign-Signature-"+strconv.Itoa(n+1), sig)
}

func TestProvision(t *testing.T) { plugintest.CheckProvision(t, Provider, plugintest.PresetProvisions) }

func seeds(t testing.TB) [][]byte {
	return plugintest.Seeds(t, "envelope_completed.json", "recipient_sent.json")
}

func FuzzVerify(f *testing.F) { plugintest.FuzzVerify(f, suite(f), seeds(f)) }

func FuzzRoute(f *testing.F) { plugintest.FuzzRoute(f, suite(f), seeds(f)) }
