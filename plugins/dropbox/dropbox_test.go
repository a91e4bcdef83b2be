package dropbox

import (
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/plugins/plugintest"
	"github.com/edgehook/edgehook/provider"
)

const (
	header = "X-Dropbox-Signature"
	acct   = "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc"
)

func sign(_ time.Time, key string, body []byte) *fasthttp.Request {
	return plugintest.Post(body, header, plugintest.Hex256(key, string(body)))
}

func suite(t testing.TB) plugintest.Case {
	return plugintest.Case{
		Provider: Provider,
		Config:   provider.Config{Secret: "dropbox_app_secret", PreviousSecret: "dropbox_old_secret"},
		Sign:     sign,
		Body:     plugintest.Testdata(t, "list_folder.json"),
		Field:    Field,
		Keys:     []string{acct},
		Header:   header,
		Signed:   true,
	}
}

func TestConformance(t *testing.T) { plugintest.Run(t, suite(t)) }

func TestNoHandshake(t *testing.T) { plugintest.NoHandshake(t, suite(t)) }

func TestDeliveries(t *testing.T) {
	vector := plugintest.Testdata(t, "list_folder.json")
	const sig = "5362dde5af78efed1b6cc34740ea94796374af41848d7f9e8e54624e34412611"
	echo := func(c string) *provider.Reply {
		return &provider.Reply{Status: 200, ContentType: "text/plain", Body: []byte(c), Header: nosniff}
	}
	plugintest.CheckDeliveries(t, suite(t), []plugintest.Delivery{
		{Name: "documented vector", Body: vector, Header: []string{header, sig}, Verify: true, Keys: []string{acct}},
		{Name: "challenge", Method: "GET", Query: "challenge=AC6B8EsCjsdlQmVJbhD1kKeVLdZ2YDZgyTx4ESsP", Reply: echo("AC6B8EsCjsdlQmVJbhD1kKeVLdZ2YDZgyTx4ESsP")},
		{Name: "challenge, URL-encoded", Method: "GET", Query: "challenge=a%20b%3Cscript%3E", Reply: echo("a b<script>")},
		{Name: "GET without challenge", Method: "GET"},
		{Name: "POST with a challenge", Query: "challenge=x", Body: vector},
		{Name: "two accounts", Body: plugintest.Testdata(t, "two_accounts.json"), Signed: true, Verify: true,
			Keys: []string{acct, "dbid:AACn3HJ2UqS-k8RCLb8Zz0MOf5cXnwNDdpI"}},
		{Name: "no accounts", Body: []byte(`{"list_folder":{"accounts":[]},"delta":{"users":[]}}`), Signed: true, Verify: true},
		{Name: "not JSON", Body: []byte(`challenge`), Signed: true, Verify: true, Status: 400},
	})
}

func TestProvision(t *testing.T) {
	plugintest.CheckProvision(t, Provider, plugintest.PresetProvisions)
}

func seeds(t testing.TB) [][]byte {
	return plugintest.Seeds(t, "list_folder.json", "two_accounts.json")
}

func FuzzVerify(f *testing.F) { plugintest.FuzzVerify(f, suite(f), seeds(f)) }

func FuzzRoute(f *testing.F) { plugintest.FuzzRoute(f, suite(f), seeds(f)) }
