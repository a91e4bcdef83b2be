package xero

import (
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/plugins/plugintest"
	"github.com/edgehook/edgehook/provider"
)

const (
	header  = "x-xero-signature"
	tenant  = "c2cc9b6e-9458-4c7d-93cc-f02b81b0594f"
	tenant2 = "4f0a9f0e-3b3c-4c1c-8a61-2d8a2c6b5e9d"
)

func sign(_ time.Time, key string, body []byte) *fasthttp.Request {
	return plugintest.Post(body, header, plugintest.Base64256(key, string(body)))
}

func suite(t testing.TB) plugintest.Case {
	return plugintest.Case{
		Provider: Provider{},
		Config:   provider.Config{Secret: "xero_webhook_key", PreviousSecret: "xero_old_key"},
		Sign:     sign,
		Body:     plugintest.Testdata(t, "invoice_update.json"),
		Field:    Field,
		Keys:     []string{tenant},
		Header:   header,
		Signed:   true,
	}
}

func TestConformance(t *testing.T) { plugintest.Run(t, suite(t)) }

func TestNoHandshake(t *testing.T) { plugintest.NoHandshake(t, suite(t)) }

func TestDeliveries(t *testing.T) {
	itr := plugintest.Testdata(t, "intent_to_receive.json")
	const sig = "QDRtGcIj6EFJGnU/9tUHZda1T3mdwWMYlmlkj0eZLwc="
	empty := &provider.Reply{Status: 200}
	plugintest.CheckDeliveries(t, suite(t), []plugintest.Delivery{
		{Name: "intent to receive, documented vector", Body: itr, Header: []string{header, sig}, Reply: empty},
		{Name: "intent to receive, spaced", Body: []byte(`{"events": [ ], "entropy":"x"}`), Signed: true, Reply: empty},
		{Name: "intent to receive, bad signature", Body: itr, Header: []string{header, plugintest.Base64256("wrong", string(itr))}},
		{Name: "intent to receive, unsigned", Body: itr},
		{Name: "invoice update", Body: plugintest.Testdata(t, "invoice_update.json"), Signed: true, Verify: true,
			Keys: []string{tenant}, EventType: "INVOICE"},
		{Name: "events of two tenants", Body: plugintest.Testdata(t, "two_tenants.json"), Signed: true, Verify: true,
			Keys: []string{tenant, tenant2}, EventType: "CONTACT"},
		{Name: "events not an array", Body: []byte(`{"events":{}}`), Signed: true, Verify: true},
		{Name: "not JSON", Body: []byte(`events=`), Signed: true, Verify: true, Status: 400},
	})
}

func TestAck(t *testing.T) {
	inst, err := Provider{}.Provision(provider.Config{Secret: "k"})
	if err != nil {
		t.Fatal(err)
	}
	var w provider.Reply
	inst.(provider.Acker).Ack(&provider.Request{Req: sign(time.Time{}, "k", nil)}, &w)
	if w.Status != 200 || len(w.Body) != 0 || w.ContentType != "" || w.Header != nil {
		t.Fatalf("Ack reply %+v; want an empty 200", w)
	}
}

func TestProvision(t *testing.T) {
	plugintest.CheckProvision(t, Provider{}, plugintest.PresetProvisions)
}

func seeds(t testing.TB) [][]byte {
	return plugintest.Seeds(t, "intent_to_receive.json", "invoice_update.json", "two_tenants.json")
}

func FuzzVerify(f *testing.F) { plugintest.FuzzVerify(f, suite(f), seeds(f)) }

func FuzzRoute(f *testing.F) { plugintest.FuzzRoute(f, suite(f), seeds(f)) }
