package delivery

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"testing"
)

func TestForwardBody(t *testing.T) {
	payload := []byte(`[ {"a" : 1.50e3, "s":"caf\u00e9"} ]`)
	cases := []struct {
		conn    string
		payload []byte
		wantID  any
		wantPay string
	}{
		{"conn-1", payload, "conn-1", string(payload)},
		{"", payload, nil, string(payload)},
		{`we"ird\id`, []byte(`{}`), `we"ird\id`, `{}`},
		{"c", nil, "c", "null"},
	}
	for _, c := range cases {
		b := appendForwardBody(nil, "github", "gh-prod", c.conn, c.payload)
		var f struct {
			From, Type, ProviderConfigKey string
			ConnectionID                  any             `json:"connectionId"`
			Payload                       json.RawMessage `json:"payload"`
		}
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if f.From != "github" || f.Type != "forward" || f.ProviderConfigKey != "gh-prod" || f.ConnectionID != c.wantID {
			t.Errorf("envelope %s", b)
		}
		if !bytes.Contains(b, []byte(`"payload":`+c.wantPay+`}`)) {
			t.Errorf("payload not verbatim in %s", b)
		}
	}
}

// The Standard Webhooks reference vector (PROVIDERS.md).
func TestSignStandardWebhooksVector(t *testing.T) {
	sig, err := sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; sig.standard != want {
		t.Fatalf("webhook-signature %s, want %s", sig.standard, want)
	}
}

func TestSignNango(t *testing.T) {
	body := []byte(`{"from":"github"}`)
	sig, err := sign("app-secret", "id", 1, body)
	if err != nil {
		t.Fatal(err)
	}
	m := hmac.New(sha256.New, []byte("app-secret"))
	m.Write(body)
	if sig.nangoHMAC != hex.EncodeToString(m.Sum(nil)) {
		t.Errorf("X-Nango-Hmac-Sha256 %s", sig.nangoHMAC)
	}
	legacy := sha256.Sum256(append([]byte("app-secret"), body...))
	if sig.nangoLegacy != hex.EncodeToString(legacy[:]) {
		t.Errorf("X-Nango-Signature %s", sig.nangoLegacy)
	}
	// A secret without whsec_ keys the Standard Webhooks HMAC with its bytes.
	m = hmac.New(sha256.New, []byte("app-secret"))
	m.Write([]byte("id.1." + string(body)))
	if want := "v1," + b64(m.Sum(nil)); sig.standard != want {
		t.Errorf("webhook-signature %s, want %s", sig.standard, want)
	}
	if _, err := sign("whsec_!!not base64", "id", 1, body); err == nil {
		t.Error("a whsec_ secret that is not base64 signed without error")
	}
}

func TestHeaderPassThrough(t *testing.T) {
	var h []byte
	for _, kv := range [][2]string{
		{"X-GitHub-Event", "push"}, {"Authorization", "Bearer x"}, {"Cookie", "a=b"},
		{"Content-Type", "text/plain"}, {"Proxy-Authorization", "x"}, {"Webhook-Id", "forged"},
		{"X-Custom", ""}, {"Connection", "close"}, {"traceparent", "00-x"}, {"X-EDGEHOOK-TOKEN", "secret"},
	} {
		h = AppendPassedHeader(h, []byte(kv[0]), []byte(kv[1]))
	}
	var got []string
	visitHeader(h, func(k, v []byte) { got = append(got, string(k)+"="+string(v)) })
	want := []string{"X-GitHub-Event=push", "X-Custom="}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("passed %q, want %q", got, want)
	}
	visitHeader(h[:len(h)-3], func(k, v []byte) {}) // truncated: must not panic
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { buf = AppendPassedHeader(buf[:0], []byte("Content-Type"), []byte("x")) }); n != 0 {
		t.Errorf("AppendPassedHeader allocates %v times", n)
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
