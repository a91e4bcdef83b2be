package zoom

import (
	"strconv"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/plugins/plugintest"
	"github.com/edgehook/edgehook/provider"
)

const (
	header = "x-zm-signature"
	secret = "zoom_secret_token"
)

func sign(now time.Time, key string, body []byte) *fasthttp.Request {
	ts := strconv.FormatInt(now.Unix(), 10)
	return plugintest.Post(body, "x-zm-request-timestamp", ts,
		header, "v0="+plugintest.Hex256(key, "v0:", ts, ":", string(body)), "x-zm-trackingid", "v=2.0&s=1700000000&c=1")
}

func suite(t testing.TB) plugintest.Case {
	return plugintest.Case{
		Provider:    Provider{},
		Config:      provider.Config{Secret: secret, PreviousSecret: "zoom_old_token"},
		Sign:        sign,
		Body:        plugintest.Testdata(t, "meeting_started.json"),
		Field:       Field,
		Keys:        []string{"acct_z1"},
		Header:      header,
		Signed:      true,
		Timestamped: true,
	}
}

func TestConformance(t *testing.T) { plugintest.Run(t, suite(t)) }

func TestNoHandshake(t *testing.T) { plugintest.NoHandshake(t, suite(t)) }

func TestDeliveries(t *testing.T) {
	vector := plugintest.Testdata(t, "meeting_started.json")
	const sig = "v0=4d4ef5ce334ad29488125017ce5aa34e97e3f93a4e75369fa3576a1cba1d357e"
	validation := plugintest.Testdata(t, "url_validation.json")
	reply := &provider.Reply{Status: 200, ContentType: "application/json",
		Body: []byte(`{"plainToken":"qgg8vlvZRS6UYooatFL8Aw","encryptedToken":"bd48235863f4a6323ccc4963c594908b7c97f88b4a6a95278f4f093690b12726"}`)}
	at := time.Unix(1700000000, 0)
	plugintest.CheckDeliveries(t, suite(t), []plugintest.Delivery{
		{Name: "documented vector", Body: vector, Header: []string{header, sig, "x-zm-request-timestamp", "1700000000"}, Now: at.Add(time.Minute),
			Verify: true, Keys: []string{"acct_z1"}, EventType: "meeting.started"},
		{Name: "vector 6 minutes late", Body: vector, Header: []string{header, sig, "x-zm-request-timestamp", "1700000000"}, Now: at.Add(6 * time.Minute)},
		{Name: "url validation", Body: validation, Signed: true, Reply: reply},
		{Name: "url validation signed with the previous token", Body: validation, Now: at,
			Header: []string{"x-zm-request-timestamp", "1700000000", header, "v0=" + plugintest.Hex256("zoom_old_token", "v0:1700000000:", string(validation))},
			Reply:  reply},
		{Name: "url validation, bad signature", Body: validation, Signed: true, Header: []string{header, "v0=" + plugintest.Hex256("x", "y")}},
		{Name: "url validation, unsigned", Body: validation, Signed: true, Header: []string{header, ""}},
		{Name: "url validation, 6 minutes late", Body: validation, Now: at.Add(6 * time.Minute),
			Header: []string{"x-zm-request-timestamp", "1700000000", header, "v0=" + plugintest.Hex256(secret, "v0:1700000000:", string(validation))}},
		{Name: "url validation, token escaped", Signed: true,
			Body:  []byte(`{"event":"endpoint.url_validation","payload":{"plainToken":"a\"b\u00e9"}}`),
			Reply: &provider.Reply{Status: 200, ContentType: "application/json", Body: []byte(`{"plainToken":"a\"bé","encryptedToken":"` + plugintest.Hex256(secret, "a\"bé") + `"}`)}},
		{Name: "signed url validation without a plainToken", Body: []byte(`{"event":"endpoint.url_validation","payload":{}}`),
			Signed: true, Status: 400},
		{Name: "recording.completed", Body: plugintest.Testdata(t, "recording_completed.json"), Signed: true, Verify: true,
			Keys: []string{"AAAAAABBBB"}, EventType: "recording.completed"},
		{Name: "not JSON", Body: []byte(`event=meeting.started`), Signed: true, Verify: true, Status: 400},
	})
}

func TestProvision(t *testing.T) {
	plugintest.CheckProvision(t, Provider{}, plugintest.PresetProvisions)
}

func seeds(t testing.TB) [][]byte {
	return plugintest.Seeds(t, "meeting_started.json", "recording_completed.json", "url_validation.json")
}

func FuzzVerify(f *testing.F) { plugintest.FuzzVerify(f, suite(f), seeds(f)) }

func FuzzRoute(f *testing.F) { plugintest.FuzzRoute(f, suite(f), seeds(f)) }

// BenchmarkVerifyRoute is the request path of a typical timestamped preset
// with a handshake: Handshake (not one), Verify and Route of a Zoom event.
func BenchmarkVerifyRoute(b *testing.B) {
	inst, err := Provider{}.Provision(provider.Config{Secret: secret})
	if err != nil {
		b.Fatal(err)
	}
	body := plugintest.Testdata(b, "recording_completed.json")
	now := time.Now()
	r := &provider.Request{Req: sign(now, secret, body), Now: now}
	hs := inst.(provider.Handshaker)
	var w provider.Reply
	var rt provider.Routing
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		rt.Reset()
		if handled, _ := hs.Handshake(r, &w); handled {
			b.Fatal("handshake")
		}
		if ok, _ := inst.Verify(r); !ok {
			b.Fatal("Verify failed")
		}
		if err := inst.Route(r, &rt); err != nil {
			b.Fatal(err)
		}
	}
}
