package attio

import (
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/plugins/plugintest"
	"github.com/edgehook/edgehook/provider"
)

const (
	header = "Attio-Signature"
	ws     = "14beef7a-99f7-4534-a87e-70b564330a4c"
)

func sign(_ time.Time, key string, body []byte) *fasthttp.Request {
	return plugintest.Post(body, header, plugintest.Hex256(key, string(body)))
}

func suite(t testing.TB) plugintest.Case {
	return plugintest.Case{
		Provider: Provider,
		Config:   provider.Config{Secret: "attio_webhook_secret", PreviousSecret: "attio_old_secret"},
		Sign:     sign,
		Body:     plugintest.Testdata(t, "record_created.json"),
		Field:    Field,
		Keys:     []string{ws},
		Header:   header,
		Signed:   true,
	}
}

func TestConformance(t *testing.T) { plugintest.Run(t, suite(t)) }

func TestDeliveries(t *testing.T) {
	vector := []byte(`{"webhook_id":"wh_1","events":[{"event_type":"record.created","id":{"workspace_id":"ws_1"}}]}`)
	plugintest.CheckDeliveries(t, suite(t), []plugintest.Delivery{
		{Name: "documented vector", Body: vector, Header: []string{header, "52f9d8575bf2efbd92345ac47b8772aca5080c86596fc497d811c6f83df126e0"},
			Verify: true, Keys: []string{"ws_1"}, EventType: "record.created"},
		{Name: "record.created", Body: plugintest.Testdata(t, "record_created.json"), Signed: true, Verify: true,
			Keys: []string{ws}, EventType: "record.created"},
		{Name: "two events, one workspace", Body: plugintest.Testdata(t, "note_batch.json"), Signed: true, Verify: true,
			Keys: []string{ws}, EventType: "note.created"},
		{Name: "no events", Body: []byte(`{"webhook_id":"wh_1","events":[]}`), Signed: true, Verify: true},
		{Name: "not JSON", Body: []byte(`events`), Signed: true, Verify: true, Status: 400},
	})
}

func TestProvision(t *testing.T) { plugintest.CheckProvision(t, Provider, plugintest.PresetProvisions) }

func seeds(t testing.TB) [][]byte {
	return plugintest.Seeds(t, "record_created.json", "note_batch.json")
}

func FuzzVerify(f *testing.F) { plugintest.FuzzVerify(f, suite(f), seeds(f)) }

func FuzzRoute(f *testing.F) { plugintest.FuzzRoute(f, suite(f), seeds(f)) }
