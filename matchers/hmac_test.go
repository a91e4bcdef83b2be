package matchers

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
	"time"
)

const (
	githubSecret = "It's a Secret to Everybody"
	githubSig    = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	slackBody    = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	stripeBody   = `{"id":"evt_test_1","object":"event","type":"customer.created","account":"acct_123"}`
	stripeSig    = "dcbb8fad99683374953aa22e64c9eadcdb11997448709a23ae34d8723f91e509"
)

var (
	githubCfg = HMACConfig{Header: "X-Hub-Signature-256", Prefix: "sha256="}
	stripeCfg = HMACConfig{Header: "Stripe-Signature", Prefix: "v1=", Separator: ',', TimestampKey: "t", Signed: "{timestamp}.{body}"}
	stdwhCfg  = HMACConfig{Header: "webhook-signature", Encoding: Base64, Prefix: "v1,", Separator: ' ',
		Signed: "{id}.{timestamp}.{body}", TimestampHeader: "webhook-timestamp", IDHeader: "webhook-id"}
	unix1700 = time.Unix(1700000000, 0)
)

func stdwhKey(t testing.TB) []byte {
	k, err := base64.StdEncoding.DecodeString("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestHMACVectors checks the public vectors of shared/PROVIDERS.md.
func TestHMACVectors(t *testing.T) {
	hubspotURL := "https://www.example.com/webhook_uri"
	tests := []struct {
		name   string
		cfg    HMACConfig
		secret string
		method string
		url    string
		body   string
		now    time.Time
		hdr    []string
	}{
		{"github", githubCfg, githubSecret, "POST", "", "Hello, World!", unix1700,
			[]string{"X-Hub-Signature-256", githubSig}},
		{"github upper-case hex", githubCfg, githubSecret, "POST", "", "Hello, World!", unix1700,
			[]string{"X-Hub-Signature-256", "sha256=" + strings.ToUpper(githubSig[7:])}},
		{"slack", HMACConfig{Header: "X-Slack-Signature", Prefix: "v0=", Signed: "v0:{timestamp}:{body}", TimestampHeader: "X-Slack-Request-Timestamp"},
			"8f742231b10e8888abcd99yyyzzz85a5", "POST", "", slackBody, time.Unix(1531420618+60, 0),
			[]string{"X-Slack-Signature", "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503", "X-Slack-Request-Timestamp", "1531420618"}},
		{"stripe", stripeCfg, "whsec_test_secret", "POST", "", stripeBody, unix1700,
			[]string{"Stripe-Signature", "t=1700000000,v1=" + stripeSig}},
		{"stripe bad v1 first and v0", stripeCfg, "whsec_test_secret", "POST", "", stripeBody, unix1700,
			[]string{"Stripe-Signature", "t=1700000000,v1=" + strings.Repeat("0", 64) + ", v1=" + stripeSig + ",v0=abc"}},
		{"paddle", HMACConfig{Header: "Paddle-Signature", Prefix: "h1=", Separator: ';', TimestampKey: "ts", Signed: "{timestamp}:{body}"},
			"pdl_ntfset_test_secret", "POST", "", `{"event_id":"evt_01","event_type":"transaction.completed","occurred_at":"2023-11-14T22:13:20.000000Z","data":{}}`, unix1700,
			[]string{"Paddle-Signature", "ts=1700000000;h1=ca6f0c2294f42e10e07648c281da485231d6ba6c030f9ea8f39b0c91704aee43"}},
		{"hubspot v3", HMACConfig{Header: "X-HubSpot-Signature-v3", Encoding: Base64, Signed: "{method}{url}{body}{timestamp}", TimestampHeader: "X-HubSpot-Request-Timestamp", TimestampFormat: UnixMillis},
			"yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy", "POST", hubspotURL, `{'example_field':'example_value'}`, time.UnixMilli(15000000 + 1000),
			[]string{"X-HubSpot-Signature-v3", "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw=", "X-HubSpot-Request-Timestamp", "15000000"}},
		{"typeform", HMACConfig{Header: "Typeform-Signature", Encoding: Base64, Prefix: "sha256="},
			"typeform_secret", "POST", "", `{"event_id":"01HTEST","event_type":"form_response","form_response":{"form_id":"abc"}}`, unix1700,
			[]string{"Typeform-Signature", "sha256=APoQyt84XEmoVy8RiQYKcC6jTA/eNvVvXep7znIWCkM="}},
		{"zoom", HMACConfig{Header: "x-zm-signature", Prefix: "v0=", Signed: "v0:{timestamp}:{body}", TimestampHeader: "x-zm-request-timestamp"},
			"zoom_secret_token", "POST", "", `{"event":"meeting.started","payload":{"account_id":"acct_z1","object":{"id":"123"}},"event_ts":1700000000000}`, unix1700,
			[]string{"x-zm-signature", "v0=4d4ef5ce334ad29488125017ce5aa34e97e3f93a4e75369fa3576a1cba1d357e", "x-zm-request-timestamp", "1700000000"}},
		{"twitch rfc3339", HMACConfig{Header: "Twitch-Eventsub-Message-Signature", Prefix: "sha256=", Signed: "{id}{timestamp}{body}", TimestampHeader: "Twitch-Eventsub-Message-Timestamp", TimestampFormat: RFC3339, Tolerance: 10 * time.Minute, IDHeader: "Twitch-Eventsub-Message-Id"},
			"twitch_secret_1234", "POST", "", `{"subscription":{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","type":"channel.follow","version":"2","status":"enabled"},"event":{"user_id":"1"}}`, time.Date(2023, 11, 14, 22, 20, 0, 0, time.UTC),
			[]string{"Twitch-Eventsub-Message-Signature", "sha256=7a4ed01ba7dffc31c307db45aeb3dd1fc0d5b8ced0fe8b76d4b2790c4009334a", "Twitch-Eventsub-Message-Timestamp", "2023-11-14T22:13:20.123456789Z", "Twitch-Eventsub-Message-Id", "e76c6bd4-55c9-4987-8304-da1588d8988b"}},
		{"box body then ts", HMACConfig{Header: "BOX-SIGNATURE-PRIMARY", Encoding: Base64, Signed: "{body}{timestamp}", TimestampHeader: "BOX-DELIVERY-TIMESTAMP", TimestampFormat: RFC3339, Tolerance: 10 * time.Minute},
			"box_primary_key", "POST", "", `{"type":"webhook_event","id":"e1","trigger":"FILE.UPLOADED"}`, time.Date(2023, 11, 14, 22, 15, 0, 0, time.UTC),
			[]string{"BOX-SIGNATURE-PRIMARY", "s1U0fxoxmaCjwN1IzLvvcqHYVvKK0nEnkM34kW/uSt8=", "BOX-DELIVERY-TIMESTAMP", "2023-11-14T14:13:20-08:00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := CompileHMAC(tt.cfg, []byte(tt.secret), nil)
			if err != nil {
				t.Fatal(err)
			}
			r := newReq(tt.method, tt.body, tt.now, tt.hdr...)
			r.URL = []byte(tt.url)
			if ok, err := m.Match(r); !ok || err != nil {
				t.Fatalf("Match = %v, %v; want true", ok, err)
			}
			r.Req.SetBodyString(tt.body + " ")
			if ok, err := m.Match(r); ok || err != nil {
				t.Fatalf("tampered: Match = %v, %v; want false", ok, err)
			}
		})
	}
}

func TestHMACStandardWebhooks(t *testing.T) {
	m, err := CompileHMAC(stdwhCfg, stdwhKey(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1614265330, 0)
	hdr := func(sig, ts string) []string {
		return []string{"webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp", ts, "webhook-signature", sig}
	}
	good := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	tests := []struct {
		name string
		now  time.Time
		hdr  []string
		want bool
	}{
		{"valid", now, hdr(good, "1614265330"), true},
		{"decoy first", now, hdr("v1,bm9wZQ== "+good, "1614265330"), true},
		{"unpadded", now, hdr(strings.TrimRight(good, "="), "1614265330"), true},
		{"v1a only", now, hdr("v1a,"+good[3:], "1614265330"), false},
		{"+301s", now.Add(301 * time.Second), hdr(good, "1614265330"), false},
		{"-301s", now.Add(-301 * time.Second), hdr(good, "1614265330"), false},
		{"+299s", now.Add(299 * time.Second), hdr(good, "1614265330"), true},
		{"ts changed", now, hdr(good, "1614265331"), false},
		{"ts malformed", now, hdr(good, "16142653x0"), false},
		{"ts missing", now, []string{"webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-signature", good}, false},
		{"id missing", now, []string{"webhook-timestamp", "1614265330", "webhook-signature", good}, false},
	}
	for _, tt := range tests {
		r := newReq("POST", `{"test": 2432232314}`, tt.now, tt.hdr...)
		if ok, err := m.Match(r); ok != tt.want || err != nil {
			t.Errorf("%s: Match = %v, %v; want %v", tt.name, ok, err, tt.want)
		}
	}
}

func sign(secret, content string) string {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(content))
	return hex.EncodeToString(h.Sum(nil))
}

func TestHMACRejects(t *testing.T) {
	m, err := CompileHMAC(githubCfg, []byte("current"), []byte("previous"))
	if err != nil {
		t.Fatal(err)
	}
	body := `{"installation":{"id":1}}`
	tests := []struct {
		name string
		hdr  []string
		want bool
	}{
		{"current secret", []string{"X-Hub-Signature-256", "sha256=" + sign("current", body)}, true},
		{"previous secret", []string{"X-Hub-Signature-256", "sha256=" + sign("previous", body)}, true},
		{"wrong secret", []string{"X-Hub-Signature-256", "sha256=" + sign("other", body)}, false},
		{"missing header", nil, false},
		{"empty header", []string{"X-Hub-Signature-256", ""}, false},
		{"prefix only", []string{"X-Hub-Signature-256", "sha256="}, false},
		{"no prefix", []string{"X-Hub-Signature-256", sign("current", body)}, false},
		{"sha1 prefix", []string{"X-Hub-Signature-256", "sha1=" + sign("current", body)}, false},
		{"legacy header only", []string{"X-Hub-Signature", "sha256=" + sign("current", body)}, false},
		{"short", []string{"X-Hub-Signature-256", "sha256=" + sign("current", body)[:62]}, false},
		{"long", []string{"X-Hub-Signature-256", "sha256=" + sign("current", body) + "00"}, false},
		{"not hex", []string{"X-Hub-Signature-256", "sha256=" + strings.Repeat("zz", 32)}, false},
		{"huge", []string{"X-Hub-Signature-256", "sha256=" + strings.Repeat("a", 8000)}, false},
	}
	for _, tt := range tests {
		r := newReq("POST", body, unix1700, tt.hdr...)
		if ok, err := m.Match(r); ok != tt.want || err != nil {
			t.Errorf("%s: Match = %v, %v; want %v", tt.name, ok, err, tt.want)
		}
	}
}

func TestHMACAlgorithms(t *testing.T) {
	for _, alg := range []Algorithm{SHA1, SHA256, SHA512} {
		for _, enc := range []Encoding{Hex, Base64, Base64URL} {
			cfg := HMACConfig{Header: "Sig", Algorithm: alg, Encoding: enc}
			m, err := CompileHMAC(cfg, []byte("k"), nil)
			if err != nil {
				t.Fatal(err)
			}
			nh, _, _ := alg.hash()
			h := hmac.New(nh, []byte("k"))
			h.Write([]byte("body"))
			mac := h.Sum(nil)
			var sig string
			switch enc {
			case Hex:
				sig = hex.EncodeToString(mac)
			case Base64:
				sig = base64.StdEncoding.EncodeToString(mac)
			case Base64URL:
				sig = base64.URLEncoding.EncodeToString(mac)
			}
			if ok, _ := m.Match(newReq("POST", "body", unix1700, "Sig", sig)); !ok {
				t.Errorf("%s/%s: valid signature rejected", alg, enc)
			}
			if ok, _ := m.Match(newReq("POST", "body!", unix1700, "Sig", sig)); ok {
				t.Errorf("%s/%s: tampered body accepted", alg, enc)
			}
		}
	}
}

func TestCompileHMACErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  HMACConfig
	}{
		{"no header", HMACConfig{}},
		{"bad algorithm", HMACConfig{Header: "h", Algorithm: "md5"}},
		{"bad encoding", HMACConfig{Header: "h", Encoding: "base32"}},
		{"bad template", HMACConfig{Header: "h", Signed: "{bodyy}"}},
		{"ts without source", HMACConfig{Header: "h", Signed: "{timestamp}.{body}"}},
		{"id without header", HMACConfig{Header: "h", Signed: "{id}.{body}"}},
		{"key without separator", HMACConfig{Header: "h", TimestampKey: "t"}},
		{"key and header", HMACConfig{Header: "h", Separator: ',', TimestampKey: "t", TimestampHeader: "x"}},
		{"bad separator", HMACConfig{Header: "h", Separator: '|'}},
		{"bad format", HMACConfig{Header: "h", TimestampFormat: "iso"}},
		{"negative tolerance", HMACConfig{Header: "h", Tolerance: -time.Second}},
	}
	for _, tt := range tests {
		if _, err := CompileHMAC(tt.cfg, []byte("k"), nil); err == nil || !strings.HasPrefix(err.Error(), "matchers: ") {
			t.Errorf("%s: err = %v; want a matchers: error", tt.name, err)
		}
	}
	if _, err := CompileHMAC(githubCfg, nil, nil); err == nil {
		t.Error("empty secret accepted")
	}
}

func TestParseTemplate(t *testing.T) {
	tests := []struct {
		in      string
		parts   int
		wantErr bool
	}{
		{"", 1, false},
		{"{body}", 1, false},
		{"v0:{timestamp}:{body}", 4, false},
		{"{method}{url}{body}{timestamp}", 4, false},
		{"{id}.{timestamp}.{body}", 5, false},
		{"{body", 0, true},
		{"body}", 0, true},
		{"{}", 0, true},
		{"{Body}", 0, true},
	}
	for _, tt := range tests {
		tmpl, err := ParseTemplate(tt.in)
		if (err != nil) != tt.wantErr || len(tmpl.parts) != tt.parts {
			t.Errorf("ParseTemplate(%q) = %d parts, %v; want %d, err %v", tt.in, len(tmpl.parts), err, tt.parts, tt.wantErr)
		}
	}
}

func TestHMACMatchAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	m, err := CompileHMAC(stripeCfg, []byte("whsec_test_secret"), []byte("whsec_old"))
	if err != nil {
		t.Fatal(err)
	}
	r := newReq("POST", stripeBody, unix1700, "Stripe-Signature", "t=1700000000,v1=00,v1="+stripeSig)
	sw, err := CompileHMAC(stdwhCfg, stdwhKey(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	rs := newReq("POST", `{"test": 2432232314}`, time.Unix(1614265330, 0), "webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek",
		"webhook-timestamp", "1614265330", "webhook-signature", "v1,bm9wZQ== v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
	lin, err := CompileHMAC(HMACConfig{Header: "Linear-Signature", TimestampPath: "webhookTimestamp", TimestampFormat: UnixMillis}, []byte("k"), []byte("old"))
	if err != nil {
		t.Fatal(err)
	}
	linBody := `{"webhookTimestamp":1700000000000}`
	rl := newReq("POST", linBody, unix1700, "Linear-Signature", sign("old", linBody))
	plain, err := CompileHMAC(HMACConfig{Header: "S", Plain: true}, []byte("k"), nil)
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256([]byte("kbody"))
	rp := newReq("POST", "body", unix1700, "S", hex.EncodeToString(d[:]))
	allocs := testing.AllocsPerRun(200, func() {
		if ok, _ := m.Match(r); !ok {
			t.Fatal("stripe: no match")
		}
		if ok, _ := lin.Match(rl); !ok {
			t.Fatal("linear: no match")
		}
		if ok, _ := plain.Match(rp); !ok {
			t.Fatal("plain digest: no match")
		}
		if ok, _ := sw.Match(rs); !ok {
			t.Fatal("standard webhooks: no match")
		}
	})
	if allocs != 0 {
		t.Errorf("Match allocates %v times per run; want 0", allocs)
	}
}

func BenchmarkHMACMatch(b *testing.B) {
	body := strings.Repeat(`{"k":"v"},`, 500) // ~5 KB
	m, err := CompileHMAC(githubCfg, []byte(githubSecret), nil)
	if err != nil {
		b.Fatal(err)
	}
	r := newReq("POST", body, unix1700, "X-Hub-Signature-256", "sha256="+sign(githubSecret, body))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if ok, _ := m.Match(r); !ok {
			b.Fatal("no match")
		}
	}
}

// TestHMACShapes checks the plain-digest, alternate-header and body
// timestamp shapes with the vectors of shared/PROVIDERS.md.
func TestHMACShapes(t *testing.T) {
	const hubspotSecret = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
	hubspotV1Body := `[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM","changeFlag":"NEW","appId":54321}]`
	hubspotV1 := HMACConfig{Header: "X-HubSpot-Signature", Plain: true}
	hubspotV2 := HMACConfig{Header: "X-HubSpot-Signature", Plain: true, Signed: "{method}{url}{body}"}
	shopify := HMACConfig{Header: "X-Shopify-Hmac-Sha256", AltHeader: "shopify-hmac-sha256", Encoding: Base64}
	shopifyBody := `{"id":820982911946154508,"email":"jon@example.com"}`
	const shopifySig = "LnwdZPLBbdjkBwPD/lDL1/rYEGby/GHPtL1aAH6Dxjc="
	linear := HMACConfig{Header: "Linear-Signature", TimestampPath: "webhookTimestamp", TimestampFormat: UnixMillis, Tolerance: time.Minute}
	linearBody := `{"action":"create","type":"Issue","organizationId":"org_123","webhookTimestamp":1700000000000,"data":{"id":"iss_1"}}`
	const linearSig = "de87bc9e85065bd650f41810f41029bec1e075d94699bba7fd490171b0172bba"
	tests := []struct {
		name, secret string
		cfg          HMACConfig
		method, url  string
		body         string
		now          time.Time
		hdr          []string
		want         bool
	}{
		{"hubspot v1", hubspotSecret, hubspotV1, "POST", "", hubspotV1Body, unix1700,
			[]string{"X-HubSpot-Signature", "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de"}, true},
		{"hubspot v1 is not an hmac", hubspotSecret, HMACConfig{Header: "X-HubSpot-Signature"}, "POST", "", hubspotV1Body, unix1700,
			[]string{"X-HubSpot-Signature", "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de"}, false},
		{"hubspot v2 GET", hubspotSecret, hubspotV2, "GET", "https://www.example.com/webhook_uri", "", unix1700,
			[]string{"X-HubSpot-Signature", "eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e"}, true},
		{"hubspot v2 POST", hubspotSecret, hubspotV2, "POST", "https://www.example.com/webhook_uri", `{"example_field":"example_value"}`, unix1700,
			[]string{"X-HubSpot-Signature", "9569219f8ba981ffa6f6f16aa0f48637d35d728c7e4d93d0d52efaa512af7900"}, true},
		{"shopify", "shpss_test_secret", shopify, "POST", "", shopifyBody, unix1700,
			[]string{"X-Shopify-Hmac-Sha256", shopifySig}, true},
		{"shopify unprefixed", "shpss_test_secret", shopify, "POST", "", shopifyBody, unix1700,
			[]string{"shopify-hmac-sha256", shopifySig}, true},
		{"shopify empty main header", "shpss_test_secret", shopify, "POST", "", shopifyBody, unix1700,
			[]string{"X-Shopify-Hmac-Sha256", "", "shopify-hmac-sha256", shopifySig}, true},
		{"shopify wrong name", "shpss_test_secret", shopify, "POST", "", shopifyBody, unix1700,
			[]string{"X-Shopify-Hmac-Sha512", shopifySig}, false},
		{"linear", "lin_wh_test_secret", linear, "POST", "", linearBody, time.UnixMilli(1700000001000),
			[]string{"Linear-Signature", linearSig}, true},
		{"linear +61s", "lin_wh_test_secret", linear, "POST", "", linearBody, time.UnixMilli(1700000061001),
			[]string{"Linear-Signature", linearSig}, false},
		{"linear -61s", "lin_wh_test_secret", linear, "POST", "", linearBody, time.UnixMilli(1699999938999),
			[]string{"Linear-Signature", linearSig}, false},
		{"linear no timestamp field", "lin_wh_test_secret", linear, "POST", "", `{"type":"Issue"}`, unix1700,
			[]string{"Linear-Signature", sign("lin_wh_test_secret", `{"type":"Issue"}`)}, false},
		{"linear timestamp as string", "lin_wh_test_secret", linear, "POST", "", `{"webhookTimestamp":"1700000000000"}`, unix1700,
			[]string{"Linear-Signature", sign("lin_wh_test_secret", `{"webhookTimestamp":"1700000000000"}`)}, true},
	}
	for _, tt := range tests {
		m, err := CompileHMAC(tt.cfg, []byte(tt.secret), nil)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		r := newReq(tt.method, tt.body, tt.now, tt.hdr...)
		r.URL = []byte(tt.url)
		if ok, err := m.Match(r); ok != tt.want || err != nil {
			t.Errorf("%s: Match = %v, %v; want %v", tt.name, ok, err, tt.want)
		}
	}
}

// TestHMACPlainRotation checks a plain digest accepts either secret.
func TestHMACPlainRotation(t *testing.T) {
	m, err := CompileHMAC(HMACConfig{Header: "S", Plain: true}, []byte("current"), []byte("previous"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		key  string
		want bool
	}{{"current", true}, {"previous", true}, {"other", false}} {
		d := sha256.Sum256([]byte(tt.key + "body"))
		if ok, _ := m.Match(newReq("POST", "body", unix1700, "S", hex.EncodeToString(d[:]))); ok != tt.want {
			t.Errorf("digest with %q: Match = %v; want %v", tt.key, ok, tt.want)
		}
	}
}

// TestHMACUnsignedTimestamp checks a timestamp the signature does not
// cover is refused at compile time: a replayed signature would pass with
// any timestamp.
func TestHMACUnsignedTimestamp(t *testing.T) {
	for _, cfg := range []HMACConfig{
		{Header: "h", TimestampHeader: "X-Ts"},
		{Header: "h", TimestampHeader: "X-Ts", Signed: "{id}{body}", IDHeader: "X-Id"},
		{Header: "h", Separator: ',', TimestampKey: "t", Prefix: "v1="},
		{Header: "h", TimestampPath: "ts", Signed: "{method}{url}"},
		{Header: "h", TimestampPath: "a..b"},
		{Header: "h", TimestampPath: "ts", TimestampHeader: "X-Ts", Signed: "{timestamp}{body}"},
	} {
		if _, err := CompileHMAC(cfg, []byte("k"), nil); err == nil || !strings.HasPrefix(err.Error(), "matchers: hmac: ") {
			t.Errorf("%+v: err = %v; want a matchers: hmac: error", cfg, err)
		}
	}
}
