package meta

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/plugins/plugintest"
	"github.com/edgehook/edgehook/provider"
)

const header = "X-Hub-Signature-256"

func sign(_ time.Time, key string, body []byte) *fasthttp.Request {
	return plugintest.Post(body, header, "sha256="+plugintest.Hex256(key, string(body)))
}

func suite(t testing.TB) plugintest.Case {
	return plugintest.Case{
		Provider: Provider{},
		Config: provider.Config{Secret: "meta_app_secret", PreviousSecret: "meta_old_secret",
			Options: json.RawMessage(`{"verify_token":"meatyhamhock"}`)},
		Sign:   sign,
		Body:   plugintest.Testdata(t, "whatsapp_messages.json"),
		Field:  Field,
		Keys:   []string{"102290129340398"},
		Header: header,
		Signed: true,
	}
}

func TestConformance(t *testing.T) { plugintest.Run(t, suite(t)) }

func TestNoHandshake(t *testing.T) { plugintest.NoHandshake(t, suite(t)) }

func TestDeliveries(t *testing.T) {
	vector := plugintest.Testdata(t, "page_messaging.json")
	const sig = "sha256=1dda4f94a2990cfcf0d5807f98f2491f7f328464a7c498f86e14606c84be89fd"
	ok := &provider.Reply{Status: 200, ContentType: "text/plain; charset=utf-8", Body: []byte("1158201444")}
	no := &provider.Reply{Status: 403, ContentType: "application/json", Body: forbidden}
	get := func(name, query string, want *provider.Reply) plugintest.Delivery {
		return plugintest.Delivery{Name: name, Method: "GET", Query: query, Reply: want}
	}
	plugintest.CheckDeliveries(t, suite(t), []plugintest.Delivery{
		{Name: "documented vector", Body: vector, Header: []string{header, sig}, Verify: true, Keys: []string{"1"}, EventType: "page"},
		{Name: "vector with é unescaped", Body: []byte(`{"object":"page","entry":[{"id":"1","time":1700000000,"messaging":[{"message":{"text":"café"}}]}]}`),
			Header: []string{header, sig}},
		{Name: "legacy sha1 header alone", Body: vector, Header: []string{"X-Hub-Signature", "sha1=" + sig[7:47]}},
		get("verification", "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock", ok),
		get("verification, arguments reordered", "hub.verify_token=meatyhamhock&hub.challenge=1158201444&hub.mode=subscribe", ok),
		get("wrong verify token", "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhocks", no),
		get("no verify token", "hub.mode=subscribe&hub.challenge=1158201444", no),
		get("mode unsubscribe", "hub.mode=unsubscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock", no),
		get("no challenge", "hub.mode=subscribe&hub.verify_token=meatyhamhock", no),
		{Name: "GET without hub arguments", Method: "GET"},
		{Name: "POST with hub arguments", Query: "hub.mode=subscribe&hub.challenge=1&hub.verify_token=meatyhamhock", Body: vector},
		{Name: "WhatsApp", Body: plugintest.Testdata(t, "whatsapp_messages.json"), Signed: true, Verify: true,
			Keys: []string{"102290129340398"}, EventType: "whatsapp_business_account"},
		{Name: "batch of two pages", Body: plugintest.Testdata(t, "page_batch.json"), Signed: true, Verify: true,
			Keys: []string{"1111", "2222"}, EventType: "page"},
		{Name: "not JSON", Body: []byte(`object=page`), Signed: true, Verify: true, Status: 400},
	})
	c := suite(t)
	c.Config.Options = nil
	plugintest.CheckDeliveries(t, c, []plugintest.Delivery{
		get("verification without options.verify_token", "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=", no),
	})
}

func TestProvision(t *testing.T) {
	opts := func(s string) json.RawMessage { return json.RawMessage(s) }
	plugintest.CheckProvision(t, Provider{}, []plugintest.Provisions{
		{Name: "secret", Config: provider.Config{Secret: "s"}, OK: true},
		{Name: "verify token", Config: provider.Config{Secret: "s", Options: opts(`{"verify_token":"t"}`)}, OK: true},
		{Name: "empty options", Config: provider.Config{Secret: "s", Options: opts(`{}`)}, OK: true},
		{Name: "no secret", Config: provider.Config{Options: opts(`{"verify_token":"t"}`)}},
		{Name: "unknown option", Config: provider.Config{Secret: "s", Options: opts(`{"verify_token":"t","x":1}`)}},
		{Name: "verify token not a string", Config: provider.Config{Secret: "s", Options: opts(`{"verify_token":1}`)}},
	})
}

func seeds(t testing.TB) [][]byte {
	return plugintest.Seeds(t, "page_messaging.json", "whatsapp_messages.json", "page_batch.json")
}

func FuzzVerify(f *testing.F) { plugintest.FuzzVerify(f, suite(f), seeds(f)) }

func FuzzRoute(f *testing.F) { plugintest.FuzzRoute(f, suite(f), seeds(f)) }
