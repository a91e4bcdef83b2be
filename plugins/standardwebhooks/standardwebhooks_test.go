package standardwebhooks

import (
	"encoding/base64"
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
	secret   = "whsec_Y3VycmVudC1zZWNyZXQta2V5LTMyLWJ5dGVzISE=" // test keys, 29 and 28 bytes
	previous = "whsec_cHJldmlvdXMtc2VjcmV0LWtleS0zMmJ5dGVzIQ=="
	msgID    = "msg_2d7PqAqQz7bUQGV9HQnZ6uL2cWn"
)

func key(s string) []byte {
	k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
	if err != nil {
		panic(err)
	}
	return k
}

func entry(secret, id, ts string, body []byte) string {
	return "v1," + base64.StdEncoding.EncodeToString(plugintest.MAC(key(secret), []byte(id+"."+ts+"."), body))
}

// sign builds a delivery as a Standard Webhooks sender does.
func sign(now time.Time, secret string, body []byte) *fasthttp.Request {
	ts := strconv.FormatInt(now.Unix(), 10)
	if !strings.HasPrefix(secret, "whsec_") {
		secret = "whsec_" + base64.StdEncoding.EncodeToString([]byte(secret))
	}
	return plugintest.NewRequest("/webhook/prod/acme", "application/json", body,
		"webhook-id", msgID, "webhook-timestamp", ts, "webhook-signature", entry(secret, msgID, ts, body))
}

// vector is the published reference-library vector of shared/PROVIDERS.md,
// accepted there by standardwebhooks@1.1.1 and svix@1.99.1.
var vector = plugintest.Vector{
	Name:   "Standard Webhooks reference libraries",
	Config: provider.Config{Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
	Now:    time.Unix(1614265330, 0),
	Request: func() *fasthttp.Request {
		return plugintest.NewRequest("/webhook/prod/acme", "application/json", []byte(`{"test": 2432232314}`),
			"webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp", "1614265330",
			"webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
	},
}

var routeOptions = json.RawMessage(`{"route_path":"data.organization_id","route_field":"organization_id"}`)

func suiteCase(t testing.TB) plugintest.Case {
	return plugintest.Case{
		Provider:        Provider{},
		Config:          provider.Config{Secret: secret, PreviousSecret: previous, Options: routeOptions},
		Sign:            sign,
		Body:            plugintest.Testdata(t, "invoice_paid.json"),
		Field:           "organization_id",
		Keys:            []string{"org_7f3a9"},
		Header:          "webhook-signature",
		Signed:          true,
		Timestamped:     true,
		Tolerance:       Tolerance,
		TimestampHeader: "webhook-timestamp",
		Vectors:         []plugintest.Vector{vector},
	}
}

func TestConformance(t *testing.T) { plugintest.Run(t, suiteCase(t)) }

func TestVerify(t *testing.T) {
	inst, err := Provider{}.Provision(provider.Config{Secret: secret, PreviousSecret: previous})
	if err != nil {
		t.Fatal(err)
	}
	body := plugintest.Testdata(t, "invoice_paid.json")
	now := time.Unix(1700000000, 0)
	good, old := entry(secret, msgID, "1700000000", body), entry(previous, msgID, "1700000000", body)
	tests := []struct {
		name, sig, id string
		want          bool
	}{
		{"one entry", good, msgID, true},
		{"decoy first", "v1,bm9wZQ== " + good, msgID, true},
		{"v1a entry ignored, v1 matches", "v1a,5dxgW3GI9Y3Qd81U/JWOMzTXbS+k27FEf202wTiyT99dLdw1BojPgNyIZr7/iA9yCEwPz2P2vTtzXKHCx4HSDA== " + good, msgID, true},
		{"previous secret", old, msgID, true},
		{"both secrets", old + " " + good, msgID, true},
		{"v1a only", "v1a," + good[3:], msgID, false},
		{"comma list", "v1,bm9wZQ==," + good, msgID, false},
		{"other id", good, "msg_other", false},
	}
	for _, tt := range tests {
		req := plugintest.NewRequest("/", "application/json", body, "webhook-id", tt.id, "webhook-timestamp", "1700000000", "webhook-signature", tt.sig)
		if ok, err := inst.Verify(&provider.Request{Req: req, Now: now}); ok != tt.want || err != nil {
			t.Errorf("%s: Verify = %v, %v; want %v", tt.name, ok, err, tt.want)
		}
	}
}

func TestRoute(t *testing.T) {
	tests := []struct {
		name    string
		options string
		file    string
		field   string
		key     string
		typ     string
	}{
		{"configured route", string(routeOptions), "invoice_paid.json", "organization_id", "org_7f3a9", "invoice.paid"},
		{"route absent in body", string(routeOptions), "user_created.json", "organization_id", "", "user.created"},
		{"array index", `{"route_path":"data.email_addresses.0.email_address","route_field":"email"}`, "user_created.json", "email", "ada@example.com", "user.created"},
		{"no route", "", "invoice_paid.json", "", "", "invoice.paid"},
	}
	for _, tt := range tests {
		inst, err := Provider{}.Provision(provider.Config{Secret: secret, Options: json.RawMessage(tt.options)})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var rt provider.Routing
		if err := inst.Route(&provider.Request{Req: sign(time.Now(), secret, plugintest.Testdata(t, tt.file))}, &rt); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var key string
		if len(rt.Keys) == 1 {
			key = string(rt.Keys[0])
		}
		if rt.Field != tt.field || key != tt.key || string(rt.EventType) != tt.typ || string(rt.EventID) != msgID {
			t.Errorf("%s: field %q keys %q type %q id %q", tt.name, rt.Field, rt.Keys, rt.EventType, rt.EventID)
		}
	}
}

func TestProvision(t *testing.T) {
	for _, tt := range []struct {
		name    string
		cfg     provider.Config
		wantErr bool
	}{
		{"secret", provider.Config{Secret: secret}, false},
		{"no whsec_ prefix", provider.Config{Secret: "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, false},
		{"no secret", provider.Config{}, true},
		{"secret not base64", provider.Config{Secret: "whsec_not base64!"}, true},
		{"previous not base64", provider.Config{Secret: secret, PreviousSecret: "whsec_%%"}, true},
		{"unknown option", provider.Config{Secret: secret, Options: json.RawMessage(`{"route_path":"a","route_field":"b","tolerance":"1m"}`)}, true},
		{"path without field", provider.Config{Secret: secret, Options: json.RawMessage(`{"route_path":"a"}`)}, true},
		{"field without path", provider.Config{Secret: secret, Options: json.RawMessage(`{"route_field":"a"}`)}, true},
		{"bad path", provider.Config{Secret: secret, Options: json.RawMessage(`{"route_path":"a..b","route_field":"f"}`)}, true},
		{"options not an object", provider.Config{Secret: secret, Options: json.RawMessage(`"x"`)}, true},
	} {
		_, err := Provider{}.Provision(tt.cfg)
		if (err != nil) != tt.wantErr || err != nil && !strings.HasPrefix(err.Error(), "plugins/standardwebhooks: ") {
			t.Errorf("%s: err = %v; want error %v", tt.name, err, tt.wantErr)
		}
	}
}

func seeds(t testing.TB) [][]byte {
	return plugintest.Seeds(t, "reference.json", "invoice_paid.json", "user_created.json")
}

func FuzzVerify(f *testing.F) { plugintest.FuzzVerify(f, suiteCase(f), seeds(f)) }
func FuzzRoute(f *testing.F)  { plugintest.FuzzRoute(f, suiteCase(f), seeds(f)) }
