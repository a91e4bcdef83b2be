package calendly

import (
	"strconv"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/plugins/plugintest"
	"github.com/edgehook/edgehook/provider"
)

const header = "Calendly-Webhook-Signature"

func sign(now time.Time, key string, body []byte) *fasthttp.Request {
	t := strconv.FormatInt(now.Unix(), 10)
	return plugintest.Post(body, header, "t="+t+",v1="+plugintest.Hex256(key, t, ".", string(body)))
}

func suite(t testing.TB) plugintest.Case {
	return plugintest.Case{
		Provider:    Provider,
		Config:      provider.Config{Secret: "calendly_signing_key", PreviousSecret: "calendly_previous_key"},
		Sign:        sign,
		Body:        plugintest.Testdata(t, "invitee_created.json"),
		Field:       Field,
		Keys:        []string{"https://api.calendly.com/users/AAAAAAAAAAAAAAAA"},
		Header:      header,
		Signed:      true,
		Timestamped: true,
	}
}

func TestConformance(t *testing.T) { plugintest.Run(t, suite(t)) }

func TestDeliveries(t *testing.T) {
	vector := []byte(`{"event":"invitee.created","created_at":"2023-11-14T22:13:20.000000Z","payload":{}}`)
	sig := "t=1700000000,v1=6cebd93cc965ae09290cf3e6f177b9217c26f01fa41b761d0ae975d7f3e534b5"
	at := func(d time.Duration) time.Time { return time.Unix(1700000000, 0).Add(d) }
	plugintest.CheckDeliveries(t, suite(t), []plugintest.Delivery{
		{Name: "documented vector", Body: vector, Header: []string{header, sig}, Now: at(time.Minute),
			Verify: true, EventType: "invitee.created"},
		{Name: "vector at the 3 minute edge", Body: vector, Header: []string{header, sig}, Now: at(3 * time.Minute), Verify: true, EventType: "invitee.created"},
		{Name: "vector past 3 minutes", Body: vector, Header: []string{header, sig}, Now: at(3*time.Minute + time.Second)},
		{Name: "invitee.created", Body: plugintest.Testdata(t, "invitee_created.json"), Signed: true, Verify: true,
			Keys: []string{"https://api.calendly.com/users/AAAAAAAAAAAAAAAA"}, EventType: "invitee.created"},
		{Name: "invitee.canceled", Body: plugintest.Testdata(t, "invitee_canceled.json"), Signed: true, Verify: true,
			Keys: []string{"https://api.calendly.com/users/CCCCCCCCCCCCCCCC"}, EventType: "invitee.canceled"},
		{Name: "not JSON", Body: []byte(`event=invitee.created`), Signed: true, Verify: true, Status: 400},
	})
}

func TestProvision(t *testing.T) { plugintest.CheckProvision(t, Provider, plugintest.PresetProvisions) }

func seeds(t testing.TB) [][]byte {
	return plugintest.Seeds(t, "invitee_created.json", "invitee_canceled.json")
}

func FuzzVerify(f *testing.F) { plugintest.FuzzVerify(f, suite(f), seeds(f)) }

func FuzzRoute(f *testing.F) { plugintest.FuzzRoute(f, suite(f), seeds(f)) }
