package sender

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
)

func TestForwardEnvelope(t *testing.T) {
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
		pre, suf := ForwardEnvelope("github", "gh-prod", c.conn, len(c.payload) == 0)
		b := append(append(append([]byte(nil), pre...), c.payload...), suf...)
		var f struct {
			From, Type, ProviderConfigKey string
			ConnectionID                  any             `json:"connectionId"`
			Payload                       json.RawMessage `json:"payload"`
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if f.From != "github" || f.Type != "forward" || f.ProviderConfigKey != "gh-prod" || f.ConnectionID != c.wantID {
			t.Errorf("envelope %s", b)
		}
		if !bytes.Contains(b, []byte(`"payload":`+c.wantPay+`}`)) {
			t.Errorf("payload not verbatim in %s", b)
		}
	}
	pre, suf := RunnerEnvelope("gh", "c1", "issues", "Issue", false)
	b := append(append(pre, `{"x":1}`...), suf...)
	var r struct {
		ConnectionID, ProviderConfigKey, SyncName, Model string
		Payload                                          json.RawMessage
	}
	if err := json.Unmarshal(b, &r); err != nil || r.ConnectionID != "c1" || r.SyncName != "issues" || r.Model != "Issue" || string(r.Payload) != `{"x":1}` {
		t.Fatalf("runner envelope %s: %v", b, err)
	}
}

func TestDestKey(t *testing.T) {
	cases := map[string]string{
		"https://App.Example/hooks?x=1": "https://app.example:443",
		"http://app.example/":           "http://app.example:80",
		"http://127.0.0.1:9000/h":       "http://127.0.0.1:9000",
		"https://[::1]:8443/h":          "https://[::1]:8443",
		"HTTPS://app.example:443":       "https://app.example:443",
	}
	for in, want := range cases {
		if got, err := DestKey(in); err != nil || got != want {
			t.Errorf("DestKey(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"ftp://x/", "https:///nohost", "::", "app.example/h", "http://:80/", "http://a:0/", "http://a:99999/", "http://u:p@a/"} {
		if _, err := DestKey(bad); err == nil {
			t.Errorf("DestKey(%q) accepted", bad)
		}
	}
}

// The Standard Webhooks reference vector (PROVIDERS.md).
func TestSignStandardWebhooksVector(t *testing.T) {
	sig, err := Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, nil, nil, nil, strings.NewReader(`{"test": 2432232314}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; sig.Standard != want {
		t.Fatalf("webhook-signature %s, want %s", sig.Standard, want)
	}
}

func TestSignNango(t *testing.T) {
	body := []byte(`{"from":"github"}`)
	sig, err := Sign("app-secret", "id", 1, body[:3], body[3:], nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := hmac.New(sha256.New, []byte("app-secret"))
	m.Write(body)
	if sig.NangoHMAC != hex.EncodeToString(m.Sum(nil)) {
		t.Errorf("X-Nango-Hmac-Sha256 %s", sig.NangoHMAC)
	}
	legacy := sha256.Sum256(append([]byte("app-secret"), body...))
	if sig.NangoLegacy != hex.EncodeToString(legacy[:]) {
		t.Errorf("X-Nango-Signature %s", sig.NangoLegacy)
	}
	// A secret without whsec_ keys the Standard Webhooks HMAC with its bytes.
	m = hmac.New(sha256.New, []byte("app-secret"))
	m.Write([]byte("id.1." + string(body)))
	if want := "v1," + b64(m.Sum(nil)); sig.Standard != want {
		t.Errorf("webhook-signature %s, want %s", sig.Standard, want)
	}
	if _, err := Sign("whsec_!!not base64", "id", 1, nil, body, nil, nil); err == nil || CheckSecret("whsec_!!not base64") == nil {
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
