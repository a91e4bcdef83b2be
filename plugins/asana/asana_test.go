package asana

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/plugins/plugintest"
	"github.com/edgehook/edgehook/provider"
)

const (
	header = "X-Hook-Signature"
	secret = "b537207f20cbfa02357cf448134da559e8bd39d61597dcd5631b8012eae53e81"
)

var capture = json.RawMessage(`{"capture_secret":true}`)

func sign(_ time.Time, key string, body []byte) *fasthttp.Request {
	return plugintest.Post(body, header, plugintest.Hex256(key, string(body)))
}

func suite(t testing.TB) plugintest.Case {
	return plugintest.Case{
		Provider: Provider,
		Config:   provider.Config{Secret: secret, PreviousSecret: "asana_previous_secret", Options: capture},
		Sign:     sign,
		Body:     plugintest.Testdata(t, "task_changed.json"),
		Header:   header,
		Signed:   true,
	}
}

func TestConformance(t *testing.T) { plugintest.Run(t, suite(t)) }

func TestNoHandshake(t *testing.T) { plugintest.NoHandshake(t, suite(t)) }

func TestDeliveries(t *testing.T) {
	const sig = "10468027b67df18c739cc4794c6fc2d2806dcaaf2259fc3e1ed9d26433659853"
	handshake := []string{SecretHeader, "a-new-secret"}
	plugintest.CheckDeliveries(t, suite(t), []plugintest.Delivery{
		{Name: "documented vector (heartbeat)", Body: plugintest.Testdata(t, "heartbeat.json"), Header: []string{header, sig}, Verify: true},
		{Name: "task changed", Body: plugintest.Testdata(t, "task_changed.json"), Signed: true, Verify: true, EventType: "task"},
		{Name: "two events", Body: plugintest.Testdata(t, "story_added.json"), Signed: true, Verify: true, EventType: "story"},
		{Name: "handshake refused: a secret is set", Header: handshake},
		{Name: "not JSON", Body: []byte(`events`), Signed: true, Verify: true, Status: 400},
	})
	armed := suite(t)
	armed.Config = provider.Config{Options: capture}
	plugintest.CheckDeliveries(t, armed, []plugintest.Delivery{
		{Name: "handshake captured", Header: handshake,
			Reply: &provider.Reply{Status: 200, Header: [][2]string{{SecretHeader, "a-new-secret"}}, Secret: []byte("a-new-secret")}},
		{Name: "handshake with a body", Header: handshake, Body: []byte(`{}`),
			Reply: &provider.Reply{Status: 200, Header: [][2]string{{SecretHeader, "a-new-secret"}}, Secret: []byte("a-new-secret")}},
		{Name: "delivery before the secret is stored", Body: plugintest.Testdata(t, "heartbeat.json"), Header: []string{header, sig}},
		{Name: "empty X-Hook-Secret", Header: []string{SecretHeader, " "}},
	})
}

func TestProvision(t *testing.T) {
	plugintest.CheckProvision(t, Provider, append(plugintest.PresetProvisions,
		plugintest.Provisions{Name: "armed", Config: provider.Config{Options: capture}, OK: true},
		plugintest.Provisions{Name: "secret and capture", Config: provider.Config{Secret: "s", Options: capture}, OK: true},
		plugintest.Provisions{Name: "capture off", Config: provider.Config{Options: json.RawMessage(`{"capture_secret":false}`)}},
		plugintest.Provisions{Name: "armed with a previous secret", Config: provider.Config{PreviousSecret: "p", Options: capture}},
	))
}

func seeds(t testing.TB) [][]byte {
	return plugintest.Seeds(t, "heartbeat.json", "task_changed.json", "story_added.json")
}

func FuzzVerify(f *testing.F) { plugintest.FuzzVerify(f, suite(f), seeds(f)) }

func FuzzRoute(f *testing.F) { plugintest.FuzzRoute(f, suite(f), seeds(f)) }
