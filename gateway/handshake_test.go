package gateway_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// doReply sends a request and returns the whole reply, body read.
func doReply(t *testing.T, method, url string, body []byte, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// forwardsByConnection decodes hits and indexes them by connection id.
func forwardsByConnection(t *testing.T, hits [][]byte) map[string]forward {
	t.Helper()
	out := map[string]forward{}
	for _, b := range hits {
		f := decodeForward(t, b)
		if f.ConnectionID == nil {
			t.Fatalf("unmatched forward %s", b)
		}
		out[*f.ConnectionID] = f
	}
	return out
}

// The Microsoft Graph validation handshake is answered by the gateway with
// the decoded token as text/plain, never forwarded; a notification POST
// mixing two subscriptions reaches each connection with only its own
// notifications; a wrong clientState is a 401.
func TestMicrosoftGraphHandshakeAndRouting(t *testing.T) {
	g := startGateway(t, startEtcd(t), gwOpts{})
	s := newSink(t, nil)
	g.put(t, "prod", `{"webhook_urls":["`+s.URL+`"],"webhook_secret":"`+appSecret+`"}`)
	g.put(t, "prod/integrations/graph", `{"provider":"msgraph","webhook_secret":"secretClientValue"}`)
	g.put(t, "prod/integrations/graph/connections/mail", `{"config":{"subscriptionId":"sub-a"}}`)
	g.put(t, "prod/integrations/graph/connections/calendar", `{"config":{"subscriptionId":"sub-b"}}`)

	token := "Validation: Testing client application reachability for subscription Request-Id: 25f3ba26-1a4b&x=<y>"
	resp, body := doReply(t, "POST", g.ingress+"/webhook/prod/graph?validationToken="+
		strings.ReplaceAll(strings.ReplaceAll(strings.ReplaceAll(strings.ReplaceAll(token, "%", "%25"), " ", "%20"), "&", "%26"), ":", "%3A"),
		nil, map[string]string{"Content-Type": "text/plain; charset=utf-8"})
	if resp.StatusCode != 200 || string(body) != token || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("validation: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}

	notes := []byte(`{"value":[` +
		`{"subscriptionId":"sub-a","changeType":"created","resource":"Users/1/Messages/m1","clientState":"secretClientValue","tenantId":"t1"},` +
		`{"subscriptionId":"sub-b","changeType":"updated","resource":"Users/1/Events/e1","clientState":"secretClientValue","tenantId":"t1"},` +
		`{"subscriptionId":"sub-a","changeType":"deleted","resource":"Users/1/Messages/m2","clientState":"secretClientValue","tenantId":"t1"}]}`)
	st, ack := do(t, "POST", g.ingress+"/webhook/prod/graph", notes, map[string]string{"Content-Type": "application/json"})
	if st != 200 || !strings.Contains(string(ack), `"connections":2`) {
		t.Fatalf("notifications: %d %s", st, ack)
	}
	hits := s.Wait(t, 2, 5*time.Second)
	fw := forwardsByConnection(t, [][]byte{hits[0].Body, hits[1].Body})
	want := map[string]string{
		"mail":     `{"value":[{"subscriptionId":"sub-a","changeType":"created","resource":"Users/1/Messages/m1","clientState":"secretClientValue","tenantId":"t1"},{"subscriptionId":"sub-a","changeType":"deleted","resource":"Users/1/Messages/m2","clientState":"secretClientValue","tenantId":"t1"}]}`,
		"calendar": `{"value":[{"subscriptionId":"sub-b","changeType":"updated","resource":"Users/1/Events/e1","clientState":"secretClientValue","tenantId":"t1"}]}`,
	}
	for id, p := range want {
		if f, ok := fw[id]; !ok || string(f.Payload) != p || f.From != "msgraph" {
			t.Errorf("forward to %s: %+v, payload %s", id, f, f.Payload)
		}
	}

	bad := bytes.Replace(notes, []byte(`"clientState":"secretClientValue","tenantId":"t1"}]`), []byte(`"clientState":"guess","tenantId":"t1"}]`), 1)
	if st, _ := do(t, "POST", g.ingress+"/webhook/prod/graph", bad, map[string]string{"Content-Type": "application/json"}); st != 401 {
		t.Fatalf("wrong clientState: %d, want 401", st)
	}
	time.Sleep(200 * time.Millisecond)
	if n := s.Count(); n != 2 {
		t.Fatalf("sink got %d forwards; the handshake and the 401 must forward nothing", n)
	}
}

// discordKey is the private key of shared/PROVIDERS.md's Discord vector.
func discordKey(t *testing.T) ed25519.PrivateKey {
	seed, err := hex.DecodeString("26c56d39c9497540289f1bb7b9814267c48541657c422d62019f9c514b7855ad")
	if err != nil {
		t.Fatal(err)
	}
	return ed25519.NewKeyFromSeed(seed)
}

func discordHeaders(k ed25519.PrivateKey, ts string, body []byte) map[string]string {
	return map[string]string{
		"Content-Type":          "application/json",
		"X-Signature-Timestamp": ts,
		"X-Signature-Ed25519":   hex.EncodeToString(ed25519.Sign(k, append([]byte(ts), body...))),
	}
}

// Discord's PINGs are answered by the gateway after the Ed25519 check, with
// the exact bytes Discord expects; a bad signature is a 401; an
// interaction is acknowledged with a deferred response and forwarded; a
// webhook event is acknowledged with 204 and forwarded.
func TestDiscordPingAndEvents(t *testing.T) {
	g := startGateway(t, startEtcd(t), gwOpts{})
	s := newSink(t, nil)
	k := discordKey(t)
	g.put(t, "prod", `{"webhook_urls":["`+s.URL+`"],"webhook_secret":"`+appSecret+`"}`)
	g.put(t, "prod/integrations/discord", `{"provider":"discord","webhook_secret":"`+hex.EncodeToString(k.Public().(ed25519.PublicKey))+`"}`)
	g.put(t, "prod/integrations/discord/connections/bot", `{"config":{"application_id":"123"}}`)
	url := g.ingress + "/webhook/prod/discord"

	// The published vector, byte for byte.
	ping := []byte(`{"type":1,"id":"1","application_id":"123","token":"tok","version":1}`)
	resp, body := doReply(t, "POST", url, ping, map[string]string{
		"Content-Type": "application/json", "X-Signature-Timestamp": "1700000000",
		"X-Signature-Ed25519": "5a37b8cfc07576bd3b6426724ae4dcae004200d17ce7f87c8571afdfa0667e4fb802eeb0027eec64b977f5995fbcfa757f7ae74cb90524f1d03152def4ccb809",
	})
	if resp.StatusCode != 200 || string(body) != `{"type":1}` || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("interactions PING: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	// Discord's deliberate bad-signature check.
	h := discordHeaders(k, "1700000000", ping)
	h["X-Signature-Ed25519"] = strings.Repeat("0", 128)
	if resp, _ := doReply(t, "POST", url, ping, h); resp.StatusCode != 401 {
		t.Fatalf("PING with a bad signature: %d, want 401", resp.StatusCode)
	}
	now := strconv.FormatInt(time.Now().Unix(), 10)
	evPing := []byte(`{"version":1,"application_id":"123","type":0}`)
	resp, body = doReply(t, "POST", url, evPing, discordHeaders(k, now, evPing))
	if resp.StatusCode != 204 || len(body) != 0 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("webhook events PING: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}

	cmd := []byte(`{"application_id":"123","id":"1200000000000000001","token":"aW50","type":2,"data":{"name":"status"},"version":1}`)
	resp, body = doReply(t, "POST", url, cmd, discordHeaders(k, now, cmd))
	if resp.StatusCode != 200 || string(body) != `{"type":5}` || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("command: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	ev := []byte(`{"version":1,"application_id":"123","type":1,"event":{"type":"APPLICATION_AUTHORIZED","timestamp":"2024-10-18T14:42:53.064834","data":{"user":{"id":"42"}}}}`)
	resp, body = doReply(t, "POST", url, ev, discordHeaders(k, now, ev))
	if resp.StatusCode != 204 || len(body) != 0 {
		t.Fatalf("webhook event: %d %q", resp.StatusCode, body)
	}

	hits := s.Wait(t, 2, 5*time.Second)
	got := map[string]bool{}
	for _, hit := range hits {
		f := decodeForward(t, hit.Body)
		if f.From != "discord" || f.ConnectionID == nil || *f.ConnectionID != "bot" {
			t.Fatalf("forward %s", hit.Body)
		}
		got[string(f.Payload)] = true
	}
	if !got[string(cmd)] || !got[string(ev)] {
		t.Fatalf("forwarded payloads %v; want the command and the event verbatim", got)
	}
	time.Sleep(200 * time.Millisecond)
	if n := s.Count(); n != 2 {
		t.Fatalf("sink got %d forwards; PINGs and the 401 must forward nothing", n)
	}
}
