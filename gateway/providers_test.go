package gateway_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgehook/edgehook/internal/testsink"
)

// reply is a full ingress answer.
type reply struct {
	status      int
	contentType string
	body        []byte
}

// post sends a POST and returns the whole answer.
func post(t *testing.T, url string, body []byte, header map[string]string) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		if strings.EqualFold(k, "Host") {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header.Get("Content-Type"), b}
}

// byConnection decodes forwards by connection id ("" for an unmatched
// one), failing on two for one connection.
func byConnection(t *testing.T, hits []testsink.Hit) map[string]forward {
	t.Helper()
	out := map[string]forward{}
	for _, h := range hits {
		f := decodeForward(t, h.Body)
		id := ""
		if f.ConnectionID != nil {
			id = *f.ConnectionID
		}
		if _, dup := out[id]; dup {
			t.Fatalf("two forwards for connection %q", id)
		}
		out[id] = f
	}
	return out
}

// hubspotV3 is HubSpot's v3 signature of a POST to url.
func hubspotV3(secret, url string, body []byte, ts string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("POST" + url))
	m.Write(body)
	m.Write([]byte(ts))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func slackHeaders(secret string, now time.Time, body []byte, contentType string) map[string]string {
	ts := strconv.FormatInt(now.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("v0:" + ts + ":"))
	m.Write(body)
	return map[string]string{"Content-Type": contentType, "X-Slack-Request-Timestamp": ts,
		"X-Slack-Signature": "v0=" + hex.EncodeToString(m.Sum(nil))}
}

// Slack: url_verification is answered by the gateway with the challenge
// and never forwarded; interactivity and slash commands get an empty 200
// and are forwarded as the payload field's JSON, verbatim, and as a JSON
// object of the fields; an Events API event gets the default reply.
func TestSlackThroughGateway(t *testing.T) {
	const secret = "slack-signing-secret"
	g := startGateway(t, startEtcd(t), gwOpts{})
	s := newSink(t, nil)
	g.put(t, "prod", `{"webhook_urls":["`+s.URL+`"],"webhook_secret":"`+appSecret+`","unmatched":"drop"}`)
	g.put(t, "prod/integrations/slack", `{"provider":"slack","webhook_secret":"`+secret+`"}`)
	g.put(t, "prod/integrations/slack/connections/acme", `{"config":{"team_id":"T9TK3CUKW"}}`)
	hook := g.ingress + "/webhook/prod/slack"
	now := time.Now()

	challenge := []byte(`{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`)
	r := post(t, hook, challenge, slackHeaders(secret, now, challenge, "application/json"))
	if r.status != 200 || r.contentType != "application/json" || string(r.body) != `{"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}` {
		t.Fatalf("url_verification: %d %q %s", r.status, r.contentType, r.body)
	}
	if r := post(t, hook, challenge, slackHeaders("wrong", now, challenge, "application/json")); r.status != 401 {
		t.Fatalf("url_verification with a wrong signature: %d %s", r.status, r.body)
	}

	interaction := `{"type":"block_actions","team":{"id":"T9TK3CUKW","domain":"example"},"actions":[{"action_id":"a","text":{"type":"plain_text","text":"Approve \u2705 & \"ship\""}}],"trigger_id":"1.2.3"}`
	form := []byte("payload=" + url.QueryEscape(interaction))
	r = post(t, hook, form, slackHeaders(secret, now, form, "application/x-www-form-urlencoded"))
	if r.status != 200 || len(r.body) != 0 {
		t.Fatalf("interactivity: %d %q", r.status, r.body)
	}
	f := decodeForward(t, s.Wait(t, 1, 5*time.Second)[0].Body)
	if f.ConnectionID == nil || *f.ConnectionID != "acme" || string(f.Payload) != interaction {
		t.Fatalf("interactivity forward: %v\n got %s\nwant %s", f.ConnectionID, f.Payload, interaction)
	}

	slash := []byte("token=xyzz&team_id=T9TK3CUKW&command=%2Fweather&text=94070+%26+more&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2F1")
	r = post(t, hook, slash, slackHeaders(secret, now, slash, "application/x-www-form-urlencoded"))
	if r.status != 200 || len(r.body) != 0 {
		t.Fatalf("slash command: %d %q", r.status, r.body)
	}
	f = decodeForward(t, s.Wait(t, 2, 5*time.Second)[1].Body)
	var fields map[string]string
	if err := json.Unmarshal(f.Payload, &fields); err != nil {
		t.Fatalf("slash command payload %s: %v", f.Payload, err)
	}
	want := map[string]string{"token": "xyzz", "team_id": "T9TK3CUKW", "command": "/weather", "text": "94070 & more", "response_url": "https://hooks.slack.com/commands/1"}
	if len(fields) != len(want) || f.ConnectionID == nil || *f.ConnectionID != "acme" {
		t.Fatalf("slash command forward: %v %s", f.ConnectionID, f.Payload)
	}
	for k, v := range want {
		if fields[k] != v {
			t.Errorf("slash command field %s = %q; want %q", k, fields[k], v)
		}
	}

	event := []byte(`{"team_id":"T9TK3CUKW","event":{"type":"app_mention","text":"hi"},"type":"event_callback","event_id":"Ev1"}`)
	r = post(t, hook, event, slackHeaders(secret, now, event, "application/json"))
	if r.status != 200 || !strings.Contains(string(r.body), `"connections":1`) {
		t.Fatalf("event: %d %s", r.status, r.body)
	}
	if f := decodeForward(t, s.Wait(t, 3, 5*time.Second)[2].Body); !bytes.Equal(f.Payload, event) {
		t.Fatalf("event payload %s", f.Payload)
	}
	time.Sleep(300 * time.Millisecond)
	if n := s.Count(); n != 3 {
		t.Fatalf("sink got %d forwards; want 3 (the handshake is never forwarded)", n)
	}
}

// HubSpot: one v3-signed batch over two known portals and one unknown goes
// to each connection as the array of its own events, bytes unchanged; the
// unknown portal's events go out unmatched, as their own array.
func TestHubSpotBatchThroughGateway(t *testing.T) {
	const secret = "hubspot-client-secret"
	g := startGateway(t, startEtcd(t), gwOpts{})
	s := newSink(t, nil)
	g.put(t, "prod", `{"webhook_urls":["`+s.URL+`"],"webhook_secret":"`+appSecret+`"}`)
	g.put(t, "prod/integrations/hubspot", `{"provider":"hubspot","webhook_secret":"`+secret+`"}`)
	g.put(t, "prod/integrations/hubspot/connections/portal-a", `{"config":{"portalId":62515}}`)
	g.put(t, "prod/integrations/hubspot/connections/portal-b", `{"config":{"portalId":"99001"}}`)
	evs := []string{
		`{"eventId":100,"subscriptionId":1,"portalId":62515,"occurredAt":1,"subscriptionType":"contact.propertyChange","propertyValue":"Ada \u2014 \"the first\""}`,
		`{"eventId":200,"subscriptionId":2,"portalId":99001,"occurredAt":2,"subscriptionType":"deal.creation"}`,
		`{"eventId":101,"subscriptionId":1,"portalId":62515,"occurredAt":3,"subscriptionType":"contact.propertyChange"}`,
		`{"eventId":300,"subscriptionId":3,"portalId":77777,"occurredAt":4,"subscriptionType":"company.deletion"}`,
	}
	body := []byte("[" + strings.Join(evs, ",") + "]")
	// HubSpot signs the URL it called with %3A and %2F decoded.
	ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
	signed := "https://hooks.example.com/webhook/prod/hubspot?state=a:b/c"
	h := map[string]string{"Content-Type": "application/json", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "hooks.example.com",
		"X-HubSpot-Request-Timestamp": ts, "X-HubSpot-Signature-v3": hubspotV3(secret, signed, body, ts)}
	r := post(t, g.ingress+"/webhook/prod/hubspot?state=a%3Ab%2Fc", body, h)
	if r.status != 200 || !strings.Contains(string(r.body), `"connections":2`) {
		t.Fatalf("batch: %d %s", r.status, r.body)
	}
	got := byConnection(t, s.Wait(t, 3, 5*time.Second))
	for id, want := range map[string]string{
		"portal-a": "[" + evs[0] + "," + evs[2] + "]",
		"portal-b": "[" + evs[1] + "]",
		"":         "[" + evs[3] + "]",
	} {
		if string(got[id].Payload) != want {
			t.Errorf("forward to %q: payload\n got %s\nwant %s", id, got[id].Payload, want)
		}
	}
	// The same events again, in another order: a duplicate.
	body2 := []byte("[" + strings.Join([]string{evs[3], evs[2], evs[1], evs[0]}, ",") + "]")
	h["X-HubSpot-Signature-v3"] = hubspotV3(secret, signed, body2, ts)
	if r := post(t, g.ingress+"/webhook/prod/hubspot?state=a%3Ab%2Fc", body2, h); r.status != 200 || !strings.Contains(string(r.body), `"duplicate":true`) {
		t.Fatalf("reordered batch: %d %s", r.status, r.body)
	}
	// Signed over the undecoded URL: refused.
	h["X-HubSpot-Signature-v3"] = hubspotV3(secret, "https://hooks.example.com/webhook/prod/hubspot?state=a%3Ab%2Fc", body, ts)
	if r := post(t, g.ingress+"/webhook/prod/hubspot?state=a%3Ab%2Fc", body, h); r.status != 401 {
		t.Fatalf("bad v3: %d %s", r.status, r.body)
	}
	time.Sleep(300 * time.Millisecond)
	if n := s.Count(); n != 3 {
		t.Fatalf("sink got %d forwards; want 3", n)
	}
}

// Salesforce: a SOAP Outbound Message is answered with the Ack envelope as
// text/xml and forwarded as a JSON string of the XML; a repeat is acked
// the same way and not forwarded again.
func TestSalesforceSOAPThroughGateway(t *testing.T) {
	const token = "sf-shared-token-0123456789"
	g := startGateway(t, startEtcd(t), gwOpts{})
	s := newSink(t, nil)
	g.put(t, "prod", `{"webhook_urls":["`+s.URL+`"],"webhook_secret":"`+appSecret+`"}`)
	g.put(t, "prod/integrations/salesforce", `{"provider":"salesforce","webhook_secret":"`+token+`"}`)
	g.put(t, "prod/integrations/salesforce/connections/acme", `{"config":{"organizationId":"00D5e000000AbCdEAK"}}`)
	soap := []byte(`<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>00D5e000000AbCdEAK</OrganizationId><ActionId>04k5e000000XyZ1AAK</ActionId><SessionId xsi:nil="true"/><Notification><Id>04l5e00000Q1w2E3AA</Id><sObject xsi:type="sf:Contact" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>0035e00000AbCdEAAZ</sf:Id><sf:LastName>Lovelace &amp; "Byron"</sf:LastName></sObject></Notification></notifications></soapenv:Body></soapenv:Envelope>`)
	const ack = `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>`
	h := map[string]string{"Content-Type": "text/xml; charset=utf-8", "SOAPAction": `""`}
	hook := g.ingress + "/webhook/prod/salesforce?token=" + token
	for i := range 2 {
		r := post(t, hook, soap, h)
		if r.status != 200 || !strings.HasPrefix(r.contentType, "text/xml") || string(r.body) != ack {
			t.Fatalf("delivery %d: %d %q %s", i+1, r.status, r.contentType, r.body)
		}
	}
	f := decodeForward(t, s.Wait(t, 1, 5*time.Second)[0].Body)
	var xmlText string
	if err := json.Unmarshal(f.Payload, &xmlText); err != nil || xmlText != string(soap) || f.ConnectionID == nil || *f.ConnectionID != "acme" {
		t.Fatalf("forward: %v %v\n%s", f.ConnectionID, err, f.Payload)
	}
	if r := post(t, g.ingress+"/webhook/prod/salesforce?token=wrong", soap, h); r.status != 401 || !strings.Contains(string(r.body), `"unauthorized"`) {
		t.Fatalf("wrong token: %d %s", r.status, r.body)
	}
	time.Sleep(300 * time.Millisecond)
	if n := s.Count(); n != 1 {
		t.Fatalf("sink got %d forwards; want 1 (the repeat is a duplicate)", n)
	}
}
