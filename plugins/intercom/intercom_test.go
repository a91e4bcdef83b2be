package intercom

import (
	"crypto/sha1"
	"encoding/hex"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/plugins/plugintest"
	"github.com/edgehook/edgehook/provider"
)

const header = "X-Hub-Signature"

func sign(_ time.Time, key string, body []byte) *fasthttp.Request {
	return plugintest.Post(body, header, "sha1="+hex.EncodeToString(plugintest.MACWith(sha1.New, key, string(body))))
}

func suite(t testing.TB) plugintest.Case {
	return plugintest.Case{
		Provider: Provider,
		Config:   provider.Config{Secret: "intercom_client_secret", PreviousSecret: "intercom_old_secret"},
		Sign:     sign,
		Body:     plugintest.Testdata(t, "conversation_user_created.json"),
		Field:    Field,
		Keys:     []string{"abc123"},
		Header:   header,
		Signed:   true,
	}
}

func TestConformance(t *testing.T) { plugintest.Run(t, suite(t)) }

func TestDeliveries(t *testing.T) {
	vector := []byte(`{"type":"notification_event","topic":"conversation.user.created","id":"notif_1","app_id":"abc123"}`)
	plugintest.CheckDeliveries(t, suite(t), []plugintest.Delivery{
		{Name: "documented vector", Body: vector, Header: []string{header, "sha1=6e9b44ac607e82a6cb8fe2d2f7b3b0d443b5f050"},
			Verify: true, Keys: []string{"abc123"}, EventType: "conversation.user.created", EventID: "notif_1"},
		{Name: "vector as sha256", Body: vector, Header: []string{header, "sha256=6e9b44ac607e82a6cb8fe2d2f7b3b0d443b5f050"}},
		{Name: "conversation.user.created", Body: plugintest.Testdata(t, "conversation_user_created.json"), Signed: true, Verify: true,
			Keys: []string{"abc123"}, EventType: "conversation.user.created", EventID: "notif_ccd8a4d0-f965-11e3-a367-c779cae3e1b3"},
		{Name: "ping", Body: plugintest.Testdata(t, "ping.json"), Signed: true, Verify: true,
			Keys: []string{"def456"}, EventType: "ping", EventID: "notif_ping_1"},
		{Name: "not JSON", Body: []byte(`topic=ping`), Signed: true, Verify: true, Status: 400},
	})
}

func TestProvision(t *testing.T) { plugintest.CheckProvision(t, Provider, plugintest.PresetProvisions) }

func seeds(t testing.TB) [][]byte {
	return plugintest.Seeds(t, "conversation_user_created.json", "ping.json")
}

func FuzzVerify(f *testing.F) { plugintest.FuzzVerify(f, suite(f), seeds(f)) }

func FuzzRoute(f *testing.F) { plugintest.FuzzRoute(f, suite(f), seeds(f)) }
