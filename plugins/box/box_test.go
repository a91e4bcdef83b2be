package box

import (
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/plugins/plugintest"
	"github.com/edgehook/edgehook/provider"
)

const (
	primary      = "BOX-SIGNATURE-PRIMARY"
	secondary    = "BOX-SIGNATURE-SECONDARY"
	tsHeader     = "BOX-DELIVERY-TIMESTAMP"
	primaryKey   = "box_primary_key"
	secondaryKey = "box_secondary_key"
)

// sign signs as Box does with one key: the primary header for the primary
// key, the secondary header for the secondary key (the other header then
// carries a signature made with a key the integration does not have).
func sign(now time.Time, key string, body []byte) *fasthttp.Request {
	ts := now.Format(time.RFC3339)
	mine, other := primary, secondary
	if key == secondaryKey {
		mine, other = secondary, primary
	}
	return plugintest.Post(body, tsHeader, ts, mine, plugintest.Base64256(key, string(body), ts),
		other, plugintest.Base64256("rotated away", string(body), ts),
		"BOX-DELIVERY-ID", "673a081b-2c1c-4a5e-bd51-6a9f2a2f6a4e", "BOX-SIGNATURE-VERSION", "1",
		"BOX-SIGNATURE-ALGORITHM", "HmacSHA256")
}

func suite(t testing.TB) plugintest.Case {
	return plugintest.Case{
		Provider:    Provider,
		Config:      provider.Config{Secret: primaryKey, PreviousSecret: secondaryKey},
		Sign:        sign,
		Body:        plugintest.Testdata(t, "file_uploaded.json"),
		Field:       Field,
		Keys:        []string{"1234567"},
		Header:      primary,
		Signed:      true,
		Timestamped: true,
	}
}

func TestConformance(t *testing.T) { plugintest.Run(t, suite(t)) }

func TestDeliveries(t *testing.T) {
	vector := []byte(`{"type":"webhook_event","id":"e1","trigger":"FILE.UPLOADED"}`)
	const ts, sig = "2023-11-14T14:13:20-08:00", "s1U0fxoxmaCjwN1IzLvvcqHYVvKK0nEnkM34kW/uSt8="
	at := func(d time.Duration) time.Time { return time.Date(2023, 11, 14, 22, 13, 20, 0, time.UTC).Add(d) }
	sig2 := plugintest.Base64256(secondaryKey, string(vector), ts)
	plugintest.CheckDeliveries(t, suite(t), []plugintest.Delivery{
		{Name: "documented vector", Body: vector, Header: []string{primary, sig, tsHeader, ts}, Now: at(time.Minute),
			Verify: true, EventType: "FILE.UPLOADED"},
		{Name: "secondary key", Body: vector, Header: []string{primary, "x", secondary, sig2, tsHeader, ts}, Now: at(0),
			Verify: true, EventType: "FILE.UPLOADED"},
		{Name: "primary key in the secondary header", Body: vector, Header: []string{secondary, sig, tsHeader, ts}, Now: at(0)},
		{Name: "secondary key in the primary header", Body: vector, Header: []string{primary, sig2, tsHeader, ts}, Now: at(0)},
		{Name: "vector 10 minutes old", Body: vector, Header: []string{primary, sig, tsHeader, ts}, Now: at(10 * time.Minute),
			Verify: true, EventType: "FILE.UPLOADED"},
		{Name: "vector 11 minutes old", Body: vector, Header: []string{primary, sig, secondary, sig2, tsHeader, ts}, Now: at(11 * time.Minute)},
		{Name: "vector without timestamp", Body: vector, Header: []string{primary, sig}, Now: at(0)},
		{Name: "timestamp signed before the body", Body: vector, Now: at(0),
			Header: []string{primary, plugintest.Base64256(primaryKey, ts, string(vector)), tsHeader, ts}},
		{Name: "file uploaded", Body: plugintest.Testdata(t, "file_uploaded.json"), Signed: true, Verify: true,
			Keys: []string{"1234567"}, EventType: "FILE.UPLOADED", EventID: "673a081b-2c1c-4a5e-bd51-6a9f2a2f6a4e"},
		{Name: "folder created", Body: plugintest.Testdata(t, "folder_created.json"), Signed: true, Verify: true,
			Keys: []string{"7654321"}, EventType: "FOLDER.CREATED", EventID: "673a081b-2c1c-4a5e-bd51-6a9f2a2f6a4e"},
		{Name: "not JSON", Body: []byte(`trigger=FILE.UPLOADED`), Signed: true, Verify: true, Status: 400},
	})
}

func TestPrimaryOnly(t *testing.T) {
	c := suite(t)
	c.Config.PreviousSecret = ""
	body := plugintest.Testdata(t, "file_uploaded.json")
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).Format(time.RFC3339)
	plugintest.CheckDeliveries(t, c, []plugintest.Delivery{
		{Name: "secondary header alone", Body: body, Header: []string{secondary, plugintest.Base64256(secondaryKey, string(body), ts), tsHeader, ts}},
		{Name: "primary", Body: body, Signed: true, Verify: true, Keys: []string{"1234567"}, EventType: "FILE.UPLOADED",
			EventID: "673a081b-2c1c-4a5e-bd51-6a9f2a2f6a4e"},
	})
}

func TestProvision(t *testing.T) { plugintest.CheckProvision(t, Provider, plugintest.PresetProvisions) }

func seeds(t testing.TB) [][]byte {
	return plugintest.Seeds(t, "file_uploaded.json", "folder_created.json")
}

func FuzzVerify(f *testing.F) { plugintest.FuzzVerify(f, suite(f), seeds(f)) }

func FuzzRoute(f *testing.F) { plugintest.FuzzRoute(f, suite(f), seeds(f)) }
