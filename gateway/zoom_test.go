package gateway_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
	"time"
)

func zoomHeaders(secret string, body []byte, now time.Time) map[string]string {
	ts := strconv.FormatInt(now.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("v0:" + ts + ":"))
	m.Write(body)
	return map[string]string{"Content-Type": "application/json", "x-zm-request-timestamp": ts,
		"x-zm-signature": "v0=" + hex.EncodeToString(m.Sum(nil))}
}

// Zoom's signed endpoint.url_validation is answered by the gateway with the
// exact JSON Zoom requires and never forwarded; an ordinary event is
// verified, routed by payload.account_id and forwarded.
func TestZoomHandshakeAndEvent(t *testing.T) {
	g := startGateway(t, startEtcd(t), gwOpts{})
	s := newSink(t, nil)
	g.put(t, "prod", `{"webhook_urls":["`+s.URL+`"],"webhook_secret":"`+appSecret+`"}`)
	g.put(t, "prod/integrations/zoom", `{"provider":"zoom","webhook_secret":"zoom_secret_token"}`)
	g.put(t, "prod/integrations/zoom/connections/acme", `{"config":{"account_id":"acct_z1"}}`)
	url := g.ingress + "/webhook/prod/zoom"

	validation := []byte(`{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1700000000000,"event":"endpoint.url_validation"}`)
	resp, b := send(t, "POST", url, validation, zoomHeaders("zoom_secret_token", validation, time.Now()))
	want := `{"plainToken":"qgg8vlvZRS6UYooatFL8Aw","encryptedToken":"bd48235863f4a6323ccc4963c594908b7c97f88b4a6a95278f4f093690b12726"}`
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || string(b) != want {
		t.Fatalf("validation: %d %q %s; want 200 application/json %s", resp.StatusCode, resp.Header.Get("Content-Type"), b, want)
	}
	if resp, b := send(t, "POST", url, validation, zoomHeaders("not the secret", validation, time.Now())); resp.StatusCode != 401 {
		t.Fatalf("badly signed validation: %d %s; want 401", resp.StatusCode, b)
	}

	event := []byte(`{"event":"meeting.started","payload":{"account_id":"acct_z1","object":{"id":"123","topic":"caf\u00e9"}},"event_ts":1700000000000}`)
	resp, b = send(t, "POST", url, event, zoomHeaders("zoom_secret_token", event, time.Now()))
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"connections":1`) {
		t.Fatalf("event: %d %s", resp.StatusCode, b)
	}
	hits := s.Wait(t, 1, 5*time.Second)
	f := decodeForward(t, hits[0].Body)
	if f.From != "zoom" || f.ConnectionID == nil || *f.ConnectionID != "acme" || !bytes.Equal(f.Payload, event) {
		t.Fatalf("forward: %s", hits[0].Body)
	}
	if sig := hits[0].Header.Get("X-Nango-Hmac-Sha256"); sig != nangoHMAC(appSecret, hits[0].Body) {
		t.Fatalf("forward signature %q does not verify", sig)
	}
	time.Sleep(200 * time.Millisecond)
	if n := s.Count(); n != 1 {
		t.Fatalf("sink got %d requests; want only the event (handshakes are never forwarded)", n)
	}
}
