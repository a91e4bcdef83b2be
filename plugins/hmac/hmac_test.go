package hmac

import (
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/plugins/plugintest"
	"github.com/edgehook/edgehook/provider"
)

const (
	secret    = "acme-current"
	previous  = "acme-previous"
	publicURL = "https://hooks.example.com/webhook/prod/acme?v=1"
	delivery  = "dlv_01HQ7Z"
)

// options declare an "Acme" provider signing id, timestamp, method, URL
// and body, with every option set.
var options = json.RawMessage(`{"header":"X-Acme-Signature","algorithm":"sha256","encoding":"hex","prefix":"sha256=",
	"signed":"{id}.{timestamp}.{method}.{url}.{body}","timestamp_header":"X-Acme-Timestamp","tolerance":"3m",
	"id_header":"X-Acme-Delivery","event_type_header":"X-Acme-Event","route_path":"account.id","route_field":"account_id"}`)

// sign builds an Acme delivery.
func sign(now time.Time, key string, body []byte) *fasthttp.Request {
	ts := strconv.FormatInt(now.Unix(), 10)
	mac := plugintest.MAC([]byte(key), []byte(delivery+"."+ts+".POST."+publicURL+"."), body)
	return plugintest.NewRequest("/webhook/prod/acme?v=1", "application/json", body,
		"X-Acme-Delivery", delivery, "X-Acme-Timestamp", ts, "X-Acme-Event", "order.paid",
		"X-Acme-Signature", "sha256="+hex.EncodeToString(mac))
}

// vector expresses a vector of shared/PROVIDERS.md as generic options.
func vector(name, secret, opts string, now time.Time, url string, body string, headers ...string) plugintest.Vector {
	return plugintest.Vector{
		Name:   name,
		Config: provider.Config{Secret: secret, Options: json.RawMessage(opts)},
		Now:    now,
		URL:    url,
		Request: func() *fasthttp.Request {
			return plugintest.NewRequest("/webhook/prod/x", "application/json", []byte(body), headers...)
		},
	}
}

var vectors = []plugintest.Vector{
	vector("github docs", "It's a Secret to Everybody", `{"header":"X-Hub-Signature-256","prefix":"sha256="}`, time.Now(), "", "Hello, World!",
		"X-Hub-Signature-256", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"),
	vector("slack docs", "8f742231b10e8888abcd99yyyzzz85a5", `{"header":"X-Slack-Signature","prefix":"v0=","signed":"v0:{timestamp}:{body}","timestamp_header":"X-Slack-Request-Timestamp"}`,
		time.Unix(1531420618, 0), "", "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c",
		"X-Slack-Request-Timestamp", "1531420618", "X-Slack-Signature", "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"),
	vector("intercom constructed (sha1)", "intercom_client_secret", `{"header":"X-Hub-Signature","algorithm":"sha1","prefix":"sha1="}`, time.Now(), "",
		`{"type":"notification_event","topic":"conversation.user.created","id":"notif_1","app_id":"abc123"}`,
		"X-Hub-Signature", "sha1=6e9b44ac607e82a6cb8fe2d2f7b3b0d443b5f050"),
	vector("square SDK tests ({url}{body}, base64)", "Ibxx_5AKakO-3qeNVR61Dw", `{"header":"x-square-hmacsha256-signature","encoding":"base64","signed":"{url}{body}"}`, time.Now(),
		"https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9",
		`{"merchant_id":"MLEFBHHSJGVHD","type":"webhooks.test_notification","event_id":"ac3ac95b-f97d-458c-a6e6-18981597e05f","created_at":"2022-07-13T20:30:59.037339943Z","data":{"type":"webhooks","id":"bc368e64-01aa-407e-b46e-3231809b1129"}}`,
		"x-square-hmacsha256-signature", "GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4="),
	vector("zoom constructed", "zoom_secret_token", `{"header":"x-zm-signature","prefix":"v0=","signed":"v0:{timestamp}:{body}","timestamp_header":"x-zm-request-timestamp"}`,
		time.Unix(1700000000, 0), "", `{"event":"meeting.started","payload":{"account_id":"acct_z1","object":{"id":"123"}},"event_ts":1700000000000}`,
		"x-zm-request-timestamp", "1700000000", "x-zm-signature", "v0=4d4ef5ce334ad29488125017ce5aa34e97e3f93a4e75369fa3576a1cba1d357e"),
}

func suiteCase(t testing.TB) plugintest.Case {
	return plugintest.Case{
		Provider:        Provider{},
		Config:          provider.Config{Secret: secret, PreviousSecret: previous, Options: options},
		Sign:            sign,
		Body:            plugintest.Testdata(t, "order_paid.json"),
		Field:           "account_id",
		Keys:            []string{"acc_1001"},
		Header:          "X-Acme-Signature",
		Signed:          true,
		Timestamped:     true,
		Tolerance:       3 * time.Minute,
		TimestampHeader: "X-Acme-Timestamp",
		URL:             publicURL,
		Vectors:         vectors,
	}
}

func TestConformance(t *testing.T) { plugintest.Run(t, suiteCase(t)) }

func TestURLSigned(t *testing.T) {
	inst, err := Provider{}.Provision(provider.Config{Secret: secret, Options: options})
	if err != nil {
		t.Fatal(err)
	}
	if !inst.(provider.URLSigner).SignsURL() {
		t.Fatal("SignsURL = false for a template with {url}")
	}
	now := time.Now()
	req := sign(now, secret, plugintest.Testdata(t, "order_paid.json"))
	for _, url := range []string{"", "https://hooks.example.com/webhook/prod/acme?v=2", "http://hooks.example.com/webhook/prod/acme?v=1"} {
		if ok, _ := inst.Verify(&provider.Request{Req: req, Now: now, URL: []byte(url)}); ok {
			t.Errorf("URL %q: a signature over another URL passed", url)
		}
	}
	plain, _ := Provider{}.Provision(provider.Config{Secret: secret, Options: json.RawMessage(`{"header":"S"}`)})
	if plain.(provider.URLSigner).SignsURL() {
		t.Error("SignsURL = true without {url}")
	}
}

func TestRoute(t *testing.T) {
	inst, err := Provider{}.Provision(provider.Config{Secret: secret, Options: options})
	if err != nil {
		t.Fatal(err)
	}
	var rt provider.Routing
	if err := inst.Route(&provider.Request{Req: sign(time.Now(), secret, plugintest.Testdata(t, "ping.json"))}, &rt); err != nil {
		t.Fatal(err)
	}
	if rt.Field != "account_id" || len(rt.Keys) != 0 || string(rt.EventType) != "order.paid" || string(rt.EventID) != delivery {
		t.Errorf("ping: field %q keys %q type %q id %q", rt.Field, rt.Keys, rt.EventType, rt.EventID)
	}
	bare, _ := Provider{}.Provision(provider.Config{Secret: secret, Options: json.RawMessage(`{"header":"S"}`)})
	rt.Reset()
	if err := bare.Route(&provider.Request{Req: sign(time.Now(), secret, plugintest.Testdata(t, "order_paid.json"))}, &rt); err != nil {
		t.Fatal(err)
	}
	if rt.Field != "" || len(rt.Keys) != 0 || rt.EventType != nil || rt.EventID != nil {
		t.Errorf("no route, no headers: field %q keys %q type %q id %q", rt.Field, rt.Keys, rt.EventType, rt.EventID)
	}
	if err := bare.Route(&provider.Request{Req: sign(time.Now(), secret, []byte("a=1"))}, &rt); err == nil {
		t.Error("a non-JSON body routed")
	}
}

// TestProvisionRejects checks options that would fail, or silently weaken
// the check, later are refused when the integration is written.
func TestProvisionRejects(t *testing.T) {
	for _, tt := range []struct{ name, options string }{
		{"no options", ``},
		{"no header", `{"prefix":"sha256="}`},
		{"unknown field", `{"header":"S","timestamp_format":"unix_ms"}`},
		{"misspelled field", `{"header":"S","route_paht":"a.b"}`},
		{"{timestamp} without timestamp_header", `{"header":"S","signed":"{timestamp}.{body}"}`},
		{"timestamp_header not signed", `{"header":"S","timestamp_header":"X-Ts"}`},
		{"timestamp_header not signed, other template", `{"header":"S","timestamp_header":"X-Ts","signed":"{method}{body}"}`},
		{"tolerance without timestamp_header", `{"header":"S","tolerance":"5m"}`},
		{"tolerance not a duration", `{"header":"S","timestamp_header":"X-Ts","signed":"{timestamp}{body}","tolerance":"300"}`},
		{"negative tolerance", `{"header":"S","timestamp_header":"X-Ts","signed":"{timestamp}{body}","tolerance":"-1m"}`},
		{"{id} without id_header", `{"header":"S","signed":"{id}{body}"}`},
		{"unknown placeholder", `{"header":"S","signed":"{nonce}{body}"}`},
		{"unmatched brace", `{"header":"S","signed":"{body"}`},
		{"unknown algorithm", `{"header":"S","algorithm":"md5"}`},
		{"unknown encoding", `{"header":"S","encoding":"base32"}`},
		{"route_path without route_field", `{"header":"S","route_path":"a.b"}`},
		{"route_field without route_path", `{"header":"S","route_field":"f"}`},
		{"bad route_path", `{"header":"S","route_path":"a[0]","route_field":"f"}`},
		{"wrong type", `{"header":["S"]}`},
		{"trailing data", `{"header":"S"}{}`},
	} {
		_, err := Provider{}.Provision(provider.Config{Secret: secret, Options: json.RawMessage(tt.options)})
		if err == nil || !strings.HasPrefix(err.Error(), "plugins/hmac: ") {
			t.Errorf("%s: err = %v; want a plugins/hmac: error", tt.name, err)
		}
	}
	if _, err := (Provider{}).Provision(provider.Config{Options: json.RawMessage(`{"header":"S"}`)}); err == nil {
		t.Error("no webhook_secret accepted")
	}
}

func seeds(t testing.TB) [][]byte {
	return plugintest.Seeds(t, "order_paid.json", "ping.json", "intercom.json", "square.json")
}

func FuzzVerify(f *testing.F) { plugintest.FuzzVerify(f, suiteCase(f), seeds(f)) }
func FuzzRoute(f *testing.F)  { plugintest.FuzzRoute(f, suiteCase(f), seeds(f)) }

func BenchmarkVerifyRoute(b *testing.B) {
	inst, err := Provider{}.Provision(provider.Config{Secret: secret, Options: options})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	r := &provider.Request{Req: sign(now, secret, plugintest.Testdata(b, "order_paid.json")), Now: now, URL: []byte(publicURL)}
	plugintest.BenchmarkVerifyRoute(b, inst, r)
}
