package salesforce

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/plugins/plugintest"
	"github.com/edgehook/edgehook/provider"
)

const (
	secret   = "sf-token-current"
	previous = "sf-token-previous"
)

// sign builds a delivery carrying the token in the header (XML bodies as
// Salesforce sends them, with a SOAPAction).
func sign(_ time.Time, key string, body []byte) *fasthttp.Request {
	ct := "application/json"
	if IsXML(body) {
		ct = "text/xml; charset=utf-8"
	}
	return plugintest.NewRequest("/webhook/prod/salesforce", ct, body, "SOAPAction", `""`, TokenHeader, key)
}

// vector is an Outbound Message after Salesforce's documented shape, sent
// with the token in the query, as an endpoint URL carries it.
var vector = plugintest.Vector{
	Name:   "outbound message, token in the query",
	Config: provider.Config{Secret: "sf-documented-token"},
	Now:    time.Unix(1700000000, 0),
	Request: func() *fasthttp.Request {
		req := plugintest.NewRequest("/webhook/prod/salesforce?token=sf-documented-token", "text/xml; charset=utf-8",
			[]byte(`<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>00D000000000062EAA</OrganizationId><Notification><Id>04l000000000001AAA</Id></Notification></notifications></soapenv:Body></soapenv:Envelope>`))
		req.Header.Set("SOAPAction", `""`)
		return req
	},
}

func suiteCase(t testing.TB, file string, keys ...string) plugintest.Case {
	c := plugintest.Case{
		Provider: Provider{},
		Config:   provider.Config{Secret: secret, PreviousSecret: previous},
		Sign:     sign,
		Body:     plugintest.Testdata(t, file),
		Field:    Field,
		Keys:     keys,
		Header:   TokenHeader,
		Token:    true,
		Vectors:  []plugintest.Vector{vector},
	}
	if IsXML(c.Body) {
		c.RouteAllocates = true // encoding/xml
	} else {
		c.Field = ""
	}
	return c
}

func TestConformance(t *testing.T) {
	t.Run("soap", func(t *testing.T) { plugintest.Run(t, suiteCase(t, "contact_one.xml", "00D5e000000AbCdEAK")) })
	t.Run("soap, two notifications", func(t *testing.T) {
		plugintest.Run(t, suiteCase(t, "opportunity_two.xml", "00D5e000000AbCdEAK"))
	})
	t.Run("json", func(t *testing.T) { plugintest.Run(t, suiteCase(t, "flow_callout.json", "acme-prod")) })
}

func provision(t testing.TB) *Instance {
	inst, err := Provider{}.Provision(provider.Config{Secret: secret, PreviousSecret: previous})
	if err != nil {
		t.Fatal(err)
	}
	return inst.(*Instance)
}

func TestVerify(t *testing.T) {
	in := provision(t)
	body := plugintest.Testdata(t, "contact_one.xml")
	tests := []struct {
		name, uri, header string
		want              bool
	}{
		{"header", "/webhook/prod/salesforce", secret, true},
		{"previous in the header", "/webhook/prod/salesforce", previous, true},
		{"query", "/webhook/prod/salesforce?token=" + secret, "", true},
		{"query, url-encoded", "/webhook/prod/salesforce?token=sf%2Dtoken%2Dcurrent", "", true},
		{"previous in the query", "/webhook/prod/salesforce?a=1&token=" + previous, "", true},
		{"header wins over the query", "/webhook/prod/salesforce?token=" + secret, "wrong", false},
		{"wrong query", "/webhook/prod/salesforce?token=wrong", "", false},
		{"prefix of the token", "/webhook/prod/salesforce?token=sf-token", "", false},
		{"other parameter", "/webhook/prod/salesforce?tok=" + secret, "", false},
		{"none", "/webhook/prod/salesforce", "", false},
	}
	for _, tt := range tests {
		req := plugintest.NewRequest(tt.uri, "text/xml", body)
		if tt.header != "" {
			req.Header.Set(TokenHeader, tt.header)
		}
		if ok, err := in.Verify(&provider.Request{Req: req}); ok != tt.want || err != nil {
			t.Errorf("%s: Verify = %v, %v; want %v", tt.name, ok, err, tt.want)
		}
	}
}

func TestRouteSOAP(t *testing.T) {
	in := provision(t)
	one := plugintest.Testdata(t, "contact_one.xml")
	var rt provider.Routing
	if err := in.Route(&provider.Request{Req: sign(time.Time{}, secret, one)}, &rt); err != nil {
		t.Fatal(err)
	}
	var xmlText string
	if err := json.Unmarshal(rt.Payload, &xmlText); err != nil || xmlText != string(one) {
		t.Fatalf("payload is not the XML as a JSON string: %v\n%s", err, rt.Payload)
	}
	if rt.Field != Field || rt.ByID || len(rt.Keys) != 1 || string(rt.Keys[0]) != "00D5e000000AbCdEAK" || string(rt.EventID) != "04l5e00000Q1w2E3AA" {
		t.Errorf("field %q byID %v keys %q id %q", rt.Field, rt.ByID, rt.Keys, rt.EventID)
	}

	two := plugintest.Testdata(t, "opportunity_two.xml")
	rt.Reset()
	if err := in.Route(&provider.Request{Req: sign(time.Time{}, secret, two)}, &rt); err != nil {
		t.Fatal(err)
	}
	id := string(rt.EventID)
	swapped := bytes.Replace(bytes.Replace(two, []byte("04l5e00000Q1w2F3AA"), []byte("TMP"), 1), []byte("04l5e00000Q1w2G3AA"), []byte("04l5e00000Q1w2F3AA"), 1)
	swapped = bytes.Replace(swapped, []byte("TMP"), []byte("04l5e00000Q1w2G3AA"), 1)
	rt.Reset()
	if err := in.Route(&provider.Request{Req: sign(time.Time{}, secret, swapped)}, &rt); err != nil || string(rt.EventID) != id || !strings.HasPrefix(id, "sha256:") {
		t.Errorf("two notifications: id %q, then %q (%v); want one sha256: key for both orders", id, rt.EventID, err)
	}

	env := func(inner string) []byte {
		return []byte(`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>` + inner + `</soapenv:Body></soapenv:Envelope>`)
	}
	tests := []struct {
		name string
		body []byte
		key  string
		id   string
		err  bool
	}{
		{"white space trimmed", env(`<notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId> 00DX </OrganizationId><Notification><Id>
 04lX </Id></Notification></notifications>`), "00DX", "04lX", false},
		{"no OrganizationId: unmatched", env(`<notifications xmlns="http://soap.sforce.com/2005/09/outbound"><Notification><Id>04lX</Id></Notification></notifications>`), "", "04lX", false},
		{"sObject Id is not the notification's", env(`<notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>00DX</OrganizationId><Notification><sObject xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>003X</sf:Id></sObject></Notification></notifications>`), "00DX", "", false},
		{"BOM and white space first", append([]byte("\xef\xbb\xbf \n"), env(`<notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>00DX</OrganizationId></notifications>`)...), "00DX", "", false},
		{"wrong namespace", env(`<notifications xmlns="urn:other"><OrganizationId>00DX</OrganizationId></notifications>`), "", "", true},
		{"no notifications", env(``), "", "", true},
		{"not SOAP", []byte(`<notifications xmlns="http://soap.sforce.com/2005/09/outbound"/>`), "", "", true},
		{"malformed", []byte(`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>`), "", "", true},
		{"external entity is not expanded", []byte(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>` + string(env(`<notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>&e;</OrganizationId></notifications>`))), "", "", true},
	}
	for _, tt := range tests {
		rt.Reset()
		err := in.Route(&provider.Request{Req: sign(time.Time{}, secret, tt.body)}, &rt)
		if (err != nil) != tt.err {
			t.Errorf("%s: err = %v", tt.name, err)
			continue
		}
		var key string
		if len(rt.Keys) == 1 {
			key = string(rt.Keys[0])
		}
		if key != tt.key || string(rt.EventID) != tt.id {
			t.Errorf("%s: keys %q id %q; want %q %q", tt.name, rt.Keys, rt.EventID, tt.key, tt.id)
		}
	}
}

func TestRouteJSON(t *testing.T) {
	in := provision(t)
	tests := []struct {
		name string
		body string
		key  string
		err  bool
	}{
		{"connection id", string(plugintest.Testdata(t, "flow_callout.json")), "acme-prod", false},
		{"no nango", `{"record":{}}`, "", false},
		{"not JSON", `nope`, "", true},
	}
	for _, tt := range tests {
		var rt provider.Routing
		err := in.Route(&provider.Request{Req: sign(time.Time{}, secret, []byte(tt.body))}, &rt)
		if (err != nil) != tt.err {
			t.Errorf("%s: err = %v", tt.name, err)
			continue
		}
		if tt.err {
			continue
		}
		var key string
		if len(rt.Keys) == 1 {
			key = string(rt.Keys[0])
		}
		if !rt.ByID || rt.Field != "" || key != tt.key || rt.Payload != nil {
			t.Errorf("%s: byID %v field %q keys %q payload %q", tt.name, rt.ByID, rt.Field, rt.Keys, rt.Payload)
		}
	}
}

func TestAck(t *testing.T) {
	in := provision(t)
	var w provider.Reply
	in.Ack(&provider.Request{Req: sign(time.Time{}, secret, plugintest.Testdata(t, "contact_one.xml"))}, &w)
	if w.Status != 200 || w.ContentType != "text/xml; charset=utf-8" || string(w.Body) != Ack {
		t.Errorf("SOAP ack: %d %q %s", w.Status, w.ContentType, w.Body)
	}
	if err := xml.Unmarshal(w.Body, new(struct{})); err != nil {
		t.Errorf("the Ack is not XML: %v", err)
	}
	w = provider.Reply{}
	if in.Ack(&provider.Request{Req: sign(time.Time{}, secret, plugintest.Testdata(t, "flow_callout.json"))}, &w); !w.IsZero() {
		t.Errorf("JSON ack: %+v; want the default reply", w)
	}
}

func TestProvision(t *testing.T) {
	for _, cfg := range []provider.Config{{}, {PreviousSecret: "p"}, {Secret: "s", Options: []byte(`{"query":"t"}`)}} {
		if _, err := (Provider{}).Provision(cfg); err == nil || !strings.HasPrefix(err.Error(), "plugins/salesforce: ") {
			t.Errorf("Provision(%+v) err = %v", cfg, err)
		}
	}
}

func seeds(t testing.TB) [][]byte {
	return plugintest.Seeds(t, "contact_one.xml", "opportunity_two.xml", "flow_callout.json")
}

func FuzzVerify(f *testing.F) {
	plugintest.FuzzVerify(f, suiteCase(f, "contact_one.xml", "00D5e000000AbCdEAK"), seeds(f))
}

func FuzzRoute(f *testing.F) {
	plugintest.FuzzRoute(f, suiteCase(f, "contact_one.xml", "00D5e000000AbCdEAK"), seeds(f))
}

// FuzzSOAP fuzzes the extraction two ways: an arbitrary body never panics
// and, when accepted, is forwarded as a JSON string of itself; a message
// built from arbitrary field values yields exactly those values.
func FuzzSOAP(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s, "00D5e000000AbCdEAK", "04l5e00000Q1w2E3AA", "04l5e00000Q1w2F3AA", "<sf:Id>003</sf:Id>")
	}
	f.Add([]byte("<a>"), "a&b", "<x>", "]]>", "<![CDATA[x]]>")
	f.Fuzz(func(t *testing.T, body []byte, org, id1, id2, filler string) {
		var rt provider.Routing
		if err := RouteSOAP(body, &rt); err == nil {
			var s string
			if err := json.Unmarshal(rt.Payload, &s); err != nil {
				t.Fatalf("payload of %q is not a JSON string: %v", body, err)
			}
			if utf8.Valid(body) && s != string(body) {
				t.Fatalf("payload %q does not decode to the body", rt.Payload)
			}
		}
		var b strings.Builder
		esc := func(s string) string {
			var e bytes.Buffer
			xml.EscapeText(&e, []byte(s))
			return e.String()
		}
		b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound">`)
		b.WriteString("<OrganizationId>" + esc(org) + "</OrganizationId>")
		for _, id := range []string{id1, id2} {
			b.WriteString("<Notification><Id>" + esc(id) + `</Id><sObject xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Name>` + esc(filler) + "</sf:Name></sObject></Notification>")
		}
		b.WriteString("</notifications></soapenv:Body></soapenv:Envelope>")
		rt.Reset()
		err := RouteSOAP([]byte(b.String()), &rt)
		if !xmlText(org + id1 + id2 + filler) {
			return // not representable in XML as it is
		}
		if err != nil {
			t.Fatalf("built message refused: %v\n%s", err, b.String())
		}
		wantOrg := strings.TrimSpace(org)
		var key string
		if len(rt.Keys) == 1 {
			key = string(rt.Keys[0])
		}
		if key != wantOrg {
			t.Fatalf("org %q: key %q", org, key)
		}
	})
}

// xmlText reports whether s survives XML text as it is: valid UTF-8, only
// characters XML allows, and no carriage return (normalised to a newline).
func xmlText(s string) bool {
	for _, r := range s {
		switch {
		case r == utf8.RuneError, r == '\r', r < 0x20 && r != '\t' && r != '\n', r == 0xfffe, r == 0xffff:
			return false
		}
	}
	return true
}
