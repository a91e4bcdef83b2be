package linear

import (
	"encoding/hex"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/plugins/plugintest"
	"github.com/edgehook/edgehook/provider"
)

const (
	secret   = "lin_wh_current"
	previous = "lin_wh_previous"
	delivery = "234d1a4e-b617-4388-90fe-adc3633d6b72"
)

var tsField = regexp.MustCompile(`"webhookTimestamp":\d+`)

// sign builds a delivery as Linear sends it: the body's webhookTimestamp
// is set to now, then the body is signed.
func sign(now time.Time, key string, body []byte) *fasthttp.Request {
	body = tsField.ReplaceAll(body, []byte(`"webhookTimestamp":`+strconv.FormatInt(now.UnixMilli(), 10)))
	return plugintest.NewRequest("/webhook/prod/linear", "application/json; charset=utf-8", body,
		"User-Agent", "Linear-Webhook",
		"Linear-Delivery", delivery,
		"Linear-Event", "Comment",
		"Linear-Signature", hex.EncodeToString(plugintest.MAC([]byte(key), body)))
}

// vector is the constructed vector of shared/PROVIDERS.md, accepted there
// by @linear/sdk@98.0.0's LinearWebhookClient.verify.
var vector = plugintest.Vector{
	Name:   "PROVIDERS.md constructed, @linear/sdk checked",
	Config: provider.Config{Secret: "lin_wh_test_secret"},
	Now:    time.UnixMilli(1700000001000),
	Request: func() *fasthttp.Request {
		return plugintest.NewRequest("/webhook/prod/linear", "application/json",
			[]byte(`{"action":"create","type":"Issue","organizationId":"org_123","webhookTimestamp":1700000000000,"data":{"id":"iss_1"}}`),
			"Linear-Signature", "de87bc9e85065bd650f41810f41029bec1e075d94699bba7fd490171b0172bba")
	},
}

func suiteCase(t testing.TB) plugintest.Case {
	return plugintest.Case{
		Provider:      Provider,
		Config:        provider.Config{Secret: secret, PreviousSecret: previous},
		Sign:          sign,
		Body:          plugintest.Testdata(t, "comment_update.json"),
		Field:         Field,
		Keys:          []string{"6c7d8e9f-0000-4000-8000-00000000abcd"},
		Header:        "Linear-Signature",
		Signed:        true,
		Timestamped:   true,
		Tolerance:     Tolerance,
		BodyTimestamp: true,
		Vectors:       []plugintest.Vector{vector},
	}
}

func TestConformance(t *testing.T) { plugintest.Run(t, suiteCase(t)) }

func TestVerify(t *testing.T) {
	inst, err := Provider.Provision(vector.Config)
	if err != nil {
		t.Fatal(err)
	}
	now := vector.Now
	tests := []struct {
		name string
		now  time.Time
		edit func(*fasthttp.Request)
		want bool
	}{
		{"vector", now, func(*fasthttp.Request) {}, true},
		{"+61 s", now.Add(60 * time.Second), func(*fasthttp.Request) {}, false},
		{"-61 s (from the future)", now.Add(-62 * time.Second), func(*fasthttp.Request) {}, false},
		{"legacy Linear-Timestamp header is ignored", now.Add(time.Hour), func(r *fasthttp.Request) {
			r.Header.Set("Linear-Timestamp", strconv.FormatInt(now.Add(time.Hour).UnixMilli(), 10))
		}, false},
		{"upper-case hex", now, func(r *fasthttp.Request) {
			r.Header.Set("Linear-Signature", strings.ToUpper(string(r.Header.Peek("Linear-Signature"))))
		}, true},
		{"sha256= prefix", now, func(r *fasthttp.Request) {
			r.Header.Set("Linear-Signature", "sha256="+string(r.Header.Peek("Linear-Signature")))
		}, false},
	}
	for _, tt := range tests {
		req := vector.Request()
		tt.edit(req)
		if ok, err := inst.Verify(&provider.Request{Req: req, Now: tt.now}); ok != tt.want || err != nil {
			t.Errorf("%s: Verify = %v, %v; want %v", tt.name, ok, err, tt.want)
		}
	}
	// A body without webhookTimestamp cannot be fresh.
	body := []byte(`{"type":"Issue","organizationId":"org_123"}`)
	req := plugintest.NewRequest("/", "application/json", body, "Linear-Signature", hex.EncodeToString(plugintest.MAC([]byte("lin_wh_test_secret"), body)))
	if ok, err := inst.Verify(&provider.Request{Req: req, Now: now}); ok || err != nil {
		t.Errorf("no webhookTimestamp: Verify = %v, %v; want false", ok, err)
	}
}

func TestRoute(t *testing.T) {
	inst, err := Provider.Provision(provider.Config{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ file, key, typ string }{
		{"comment_update.json", "6c7d8e9f-0000-4000-8000-00000000abcd", "Comment"},
		{"issue_create.json", "org_123", "Issue"},
		{"project_remove.json", "", "Project"},
	}
	for _, tt := range tests {
		var rt provider.Routing
		if err := inst.Route(&provider.Request{Req: sign(time.Now(), secret, plugintest.Testdata(t, tt.file))}, &rt); err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		var key string
		if len(rt.Keys) == 1 {
			key = string(rt.Keys[0])
		}
		if rt.Field != Field || key != tt.key || string(rt.EventType) != tt.typ || string(rt.EventID) != delivery {
			t.Errorf("%s: field %q keys %q type %q id %q", tt.file, rt.Field, rt.Keys, rt.EventType, rt.EventID)
		}
	}
}

func seeds(t testing.TB) [][]byte {
	return plugintest.Seeds(t, "issue_create.json", "comment_update.json", "project_remove.json")
}

func FuzzVerify(f *testing.F) { plugintest.FuzzVerify(f, suiteCase(f), seeds(f)) }
func FuzzRoute(f *testing.F)  { plugintest.FuzzRoute(f, suiteCase(f), seeds(f)) }
