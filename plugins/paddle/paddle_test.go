package paddle

import (
	"strconv"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/plugins/plugintest"
	"github.com/edgehook/edgehook/provider"
)

const header = "Paddle-Signature"

func sign(now time.Time, key string, body []byte) *fasthttp.Request {
	ts := strconv.FormatInt(now.Unix(), 10)
	return plugintest.Post(body, header, "ts="+ts+";h1="+plugintest.Hex256(key, ts, ":", string(body)))
}

func suite(t testing.TB) plugintest.Case {
	return plugintest.Case{
		Provider:    Provider,
		Config:      provider.Config{Secret: "pdl_ntfset_test_secret", PreviousSecret: "pdl_ntfset_old_secret"},
		Sign:        sign,
		Body:        plugintest.Testdata(t, "transaction_completed.json"),
		Header:      header,
		Signed:      true,
		Timestamped: true,
	}
}

func TestConformance(t *testing.T) { plugintest.Run(t, suite(t)) }

func TestDeliveries(t *testing.T) {
	vector := []byte(`{"event_id":"evt_01","event_type":"transaction.completed","occurred_at":"2023-11-14T22:13:20.000000Z","data":{}}`)
	const h1 = "h1=ca6f0c2294f42e10e07648c281da485231d6ba6c030f9ea8f39b0c91704aee43"
	at := func(d time.Duration) time.Time { return time.Unix(1700000000, 0).Add(d) }
	plugintest.CheckDeliveries(t, suite(t), []plugintest.Delivery{
		{Name: "documented vector", Body: vector, Header: []string{header, "ts=1700000000;" + h1}, Now: at(6 * time.Second),
			Verify: true, EventType: "transaction.completed", EventID: "evt_01"},
		{Name: "vector with a stale h1 first (rotation)", Body: vector, Now: at(0), Verify: true,
			Header:    []string{header, "ts=1700000000;h1=" + plugintest.Hex256("old", "x") + ";" + h1},
			EventType: "transaction.completed", EventID: "evt_01"},
		{Name: "vector at 5 minutes", Body: vector, Header: []string{header, "ts=1700000000;" + h1}, Now: at(5 * time.Minute),
			Verify: true, EventType: "transaction.completed", EventID: "evt_01"},
		{Name: "vector past 5 minutes", Body: vector, Header: []string{header, "ts=1700000000;" + h1}, Now: at(5*time.Minute + time.Second)},
		{Name: "vector with a comma list", Body: vector, Header: []string{header, "ts=1700000000," + h1}, Now: at(0)},
		{Name: "transaction.completed", Body: plugintest.Testdata(t, "transaction_completed.json"), Signed: true, Verify: true,
			EventType: "transaction.completed", EventID: "evt_01hv8x2acma2gz1ws5g5x2s4gy"},
		{Name: "subscription.created", Body: plugintest.Testdata(t, "subscription_created.json"), Signed: true, Verify: true,
			EventType: "subscription.created", EventID: "evt_01hv8x2a0000000000000000ab"},
		{Name: "not JSON", Body: []byte(`event_id=1`), Signed: true, Verify: true, Status: 400},
	})
}

func TestProvision(t *testing.T) { plugintest.CheckProvision(t, Provider, plugintest.PresetProvisions) }

func seeds(t testing.TB) [][]byte {
	return plugintest.Seeds(t, "transaction_completed.json", "subscription_created.json")
}

func FuzzVerify(f *testing.F) { plugintest.FuzzVerify(f, suite(f), seeds(f)) }

func FuzzRoute(f *testing.F) { plugintest.FuzzRoute(f, suite(f), seeds(f)) }
