package notion

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/plugins/plugintest"
	"github.com/edgehook/edgehook/provider"
)

var capture = json.RawMessage(`{"capture_secret":true}`)

func sign(_ time.Time, key string, body []byte) *fasthttp.Request {
	return plugintest.Post(body, header, "sha256="+plugintest.Hex256(key, string(body)))
}

func suite(t testing.TB) plugintest.Case {
	return plugintest.Case{
		Provider: Provider,
		Config:   provider.Config{Secret: "secret_notion_verification_token", PreviousSecret: "secret_notion_old_token"},
		Sign:     sign,
		Body:     plugintest.Testdata(t, "comment_created.json"),
		Field:    Field,
		Keys:     []string{"13950b26-c203-4f3b-b97d-93ec06319565"},
		Header:   header,
		Signed:   true,
	}
}

func TestConformance(t *testing.T) { plugintest.Run(t, suite(t)) }

func TestNoHandshake(t *testing.T) { plugintest.NoHandshake(t, suite(t)) }

func TestDeliveries(t *testing.T) {
	const sig = "sha256=efbb768d0a61901f80d2d070c47e8abcaa5f274355c17a1f47010579acc89b81"
	verification := plugintest.Testdata(t, "verification.json")
	plugintest.CheckDeliveries(t, suite(t), []plugintest.Delivery{
		{Name: "documented vector", Body: plugintest.Testdata(t, "page_created.json"), Header: []string{header, sig},
			Verify: true, Keys: []string{"ws_1"}, EventType: "page.created", EventID: "evt_n1"},
		{Name: "comment.created", Body: plugintest.Testdata(t, "comment_created.json"), Signed: true, Verify: true,
			Keys: []string{"13950b26-c203-4f3b-b97d-93ec06319565"}, EventType: "comment.created", EventID: "367cba44-b6f3-4c92-81e7-6a2e9659efd4"},
		{Name: "verification refused: a secret is set", Body: verification},
		{Name: "not JSON", Body: []byte(`type=page.created`), Signed: true, Verify: true, Status: 400},
	})
	armed := suite(t)
	armed.Config = provider.Config{Options: capture}
	plugintest.CheckDeliveries(t, armed, []plugintest.Delivery{
		{Name: "verification captured", Body: verification,
			Reply: &provider.Reply{Status: 200, Secret: []byte("secret_tMrlL1qK5vuQAh1b6cZGhFChZTSYJlce98V0pYn7yBl")}},
		{Name: "signed body with a token is no verification", Body: verification, Header: []string{header, "sha256=00"}},
		{Name: "empty token", Body: []byte(`{"verification_token":""}`)},
		{Name: "token not a string", Body: []byte(`{"verification_token":{"a":1}}`)},
		{Name: "delivery before the token is stored", Body: plugintest.Testdata(t, "page_created.json"), Header: []string{header, sig}},
	})
}

func TestProvision(t *testing.T) {
	plugintest.CheckProvision(t, Provider, append(plugintest.PresetProvisions,
		plugintest.Provisions{Name: "armed", Config: provider.Config{Options: capture}, OK: true},
		plugintest.Provisions{Name: "capture off", Config: provider.Config{Options: json.RawMessage(`{"capture_secret":false}`)}},
	))
}

func seeds(t testing.TB) [][]byte {
	return plugintest.Seeds(t, "page_created.json", "comment_created.json", "verification.json")
}

func FuzzVerify(f *testing.F) { plugintest.FuzzVerify(f, suite(f), seeds(f)) }

func FuzzRoute(f *testing.F) { plugintest.FuzzRoute(f, suite(f), seeds(f)) }
