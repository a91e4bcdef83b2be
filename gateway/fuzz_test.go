package gateway_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// FuzzIngress sends arbitrary requests (method, path, header lines,
// body) to the ingress of a real gateway, over TCP, through every layer
// (fasthttp's parser, the per-request body limit, lookups, every
// configured provider's handshake, verify and route, the spool): none is
// answered 500, and the gateway keeps serving (acceptance 6). A reply may
// not come for a request whose framing the input itself broke.
func FuzzIngress(f *testing.F) {
	g := startGateway(f, startEtcd(f), gwOpts{maxBody: 64 << 10})
	s := newSink(f, nil)
	g.put(f, "prod", `{"webhook_urls":["`+s.URL+`"],"webhook_secret":"`+appSecret+`","unmatched":"forward"}`)
	integs := [][2]string{
		{"github", `{"provider":"github","webhook_secret":"gh","max_body":2048}`},
		{"streak", `{"provider":"streak"}`},
		{"slack", `{"provider":"slack","webhook_secret":"sl"}`},
		{"hubspot", `{"provider":"hubspot","webhook_secret":"hs"}`},
		{"salesforce", `{"provider":"salesforce","webhook_secret":"sf"}`},
		{"stripe", `{"provider":"stripe","webhook_secret":"st"}`},
		{"std", `{"provider":"standardwebhooks","webhook_secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw","options":{"route_path":"data.account","route_field":"account"}}`},
	}
	for _, ig := range integs {
		g.put(f, "prod/integrations/"+ig[0], ig[1])
	}
	g.put(f, "prod/integrations/github/connections/c1", `{"config":{"installation_id":1}}`)
	g.put(f, "prod/integrations/streak/connections/c1", `{"config":{"streakWebhookToken":"tok"}}`)
	g.put(f, "prod/integrations/slack/connections/c1", `{"config":{"team_id":"T1"}}`)
	g.put(f, "prod/integrations/hubspot/connections/c1", `{"config":{"portalId":62515}}`)
	g.put(f, "prod/integrations/salesforce/connections/c1", `{"config":{"organizationId":"00D"}}`)

	gh := []byte(`{"installation":{"id":1},"action":"opened"}`)
	f.Add("POST", "/webhook/prod/github", "X-Hub-Signature-256: "+githubSig("gh", gh)+"\nX-GitHub-Delivery: d1\nX-GitHub-Event: push", gh)
	f.Add("POST", "/webhook/prod/github", "Content-Type: application/x-www-form-urlencoded", []byte("payload=%7B%7D"))
	f.Add("POST", "/webhook/prod/streak", "X-Streak-Webhook-Token: tok", []byte(`[{"event":"BOX_EDITED"}]`))
	f.Add("POST", "/webhook/prod/streak", "X-Streak-Webhook-Token: nope", []byte(`{}`))
	f.Add("POST", "/webhook/prod/slack", "Content-Type: application/json\nX-Slack-Request-Timestamp: 1\nX-Slack-Signature: v0=00", []byte(`{"type":"url_verification","challenge":"c"}`))
	f.Add("POST", "/webhook/prod/hubspot", "X-HubSpot-Signature: 00", []byte(`[{"portalId":62515,"eventId":1}]`))
	f.Add("POST", "/webhook/prod/salesforce?token=sf", "Content-Type: text/xml", []byte(`<soapenv:Envelope><soapenv:Body><notifications><OrganizationId>00D</OrganizationId></notifications></soapenv:Body></soapenv:Envelope>`))
	f.Add("POST", "/webhook/prod/stripe", "Stripe-Signature: t=1,v1=00", []byte(`{"id":"evt_1","account":"acct"}`))
	f.Add("POST", "/webhook/prod/std", "webhook-id: msg_1\nwebhook-timestamp: 1\nwebhook-signature: v1,AAAA", []byte(`{"data":{"account":"a"}}`))
	f.Add("GET", "/webhook/prod/github?hub.challenge=x", "", []byte(nil))
	f.Add("PUT", "/webhook/prod/github", "", []byte("x"))
	f.Add("POST", "/webhook/%2e%2e/github", "Transfer-Encoding: chunked", []byte("5\r\nhello\r\n0\r\n\r\n"))
	f.Add("POST", "/webhook/prod/nope", "", bytes.Repeat([]byte("b"), 3000))
	f.Add("POST", "/readyz", "Expect: 100-continue", []byte("{}"))
	addr := strings.TrimPrefix(g.ingress, "http://")
	f.Fuzz(func(t *testing.T, method, path, header string, body []byte) {
		var req bytes.Buffer
		fmt.Fprintf(&req, "%s %s HTTP/1.1\r\nHost: fuzz\r\n", method, path)
		for _, line := range strings.Split(header, "\n") {
			if line = strings.TrimRight(line, "\r"); line != "" {
				req.WriteString(line + "\r\n")
			}
		}
		fmt.Fprintf(&req, "Content-Length: %d\r\n\r\n", len(body))
		req.Write(body)
		status, err := exchange(addr, req.Bytes())
		if err != nil {
			t.Fatalf("the gateway stopped serving: %v", err)
		}
		if status == 500 {
			t.Fatalf("500 for %q %q\n%s\n%q", method, path, header, body)
		}
	})
}

// exchange sends raw on a new connection and returns the reply's status,
// 0 when none came (the server waits for more, or closed). An error means
// the server did not accept the connection.
func exchange(addr string, raw []byte) (int, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := c.Write(raw); err != nil {
		return 0, nil
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return 0, nil
	}
	var proto string
	var status int
	fmt.Sscanf(line, "%s %d", &proto, &status)
	return status, nil
}
