package slack

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/plugins/plugintest"
	"github.com/edgehook/edgehook/provider"
)

const (
	secret   = "slack-signing-current"
	previous = "slack-signing-previous"
)

func sig(key, ts string, body []byte) string {
	return "v0=" + hex.EncodeToString(plugintest.MAC([]byte(key), []byte("v0:"+ts+":"), body))
}

// sign builds a delivery as Slack sends it: a form when body looks like
// one, else JSON.
func sign(now time.Time, key string, body []byte) *fasthttp.Request {
	ts := strconv.FormatInt(now.Unix(), 10)
	ct := "application/json"
	if bytes.HasPrefix(body, []byte("payload=")) || bytes.HasPrefix(body, []byte("token=")) {
		ct = "application/x-www-form-urlencoded"
	}
	return plugintest.NewRequest("/webhook/prod/slack", ct, body,
		"User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)",
		"X-Slack-Request-Timestamp", ts, "X-Slack-Signature", sig(key, ts, body))
}

// vector is Slack's documented example (shared/PROVIDERS.md, accepted there
// by @slack/bolt@5.1.0 and @slack/events-api@3.0.1).
var vector = plugintest.Vector{
	Name:   "slack docs, bolt checked",
	Config: provider.Config{Secret: "8f742231b10e8888abcd99yyyzzz85a5"},
	Now:    time.Unix(1531420618+30, 0),
	Request: func() *fasthttp.Request {
		return plugintest.NewRequest("/webhook/prod/slack", "application/x-www-form-urlencoded",
			[]byte("token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"),
			"X-Slack-Request-Timestamp", "1531420618",
			"X-Slack-Signature", "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503")
	},
}

func suiteCase(t testing.TB, file, key string) plugintest.Case {
	return plugintest.Case{
		Provider:        Provider{},
		Config:          provider.Config{Secret: secret, PreviousSecret: previous},
		Sign:            sign,
		Body:            plugintest.Testdata(t, file),
		Field:           Field,
		Keys:            []string{key},
		Header:          "X-Slack-Signature",
		Signed:          true,
		Timestamped:     true,
		Tolerance:       Tolerance,
		TimestampHeader: "X-Slack-Request-Timestamp",
		Vectors:         []plugintest.Vector{vector},
	}
}

func TestConformance(t *testing.T) {
	t.Run("events api", func(t *testing.T) { plugintest.Run(t, suiteCase(t, "event_callback.json", "T9TK3CUKW")) })
	t.Run("interactivity", func(t *testing.T) { plugintest.Run(t, suiteCase(t, "interactivity.form", "T9TK3CUKW")) })
	t.Run("slash command", func(t *testing.T) { plugintest.Run(t, suiteCase(t, "slash_command.form", "T1DC2JH3J")) })
}

func provision(t testing.TB) *Instance {
	inst, err := Provider{}.Provision(provider.Config{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	return inst.(*Instance)
}

func TestHandshake(t *testing.T) {
	in := provision(t)
	now := time.Now()
	body := plugintest.Testdata(t, "url_verification.json")
	tests := []struct {
		name    string
		req     *fasthttp.Request
		handled bool
		status  int // of a returned *provider.Error
		reply   string
	}{
		{"signed", sign(now, secret, body), true, 0, `{"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}`},
		{"escapes copied as sent", sign(now, secret, []byte(`{"type":"url_verification","challenge":"a\"b\u00e9"}`)), true, 0, `{"challenge":"a\"b\u00e9"}`},
		{"wrong secret", sign(now, "other", body), false, 0, ""},
		{"stale", sign(now.Add(-time.Hour), secret, body), false, 0, ""},
		{"unsigned", plugintest.NewRequest("/", "application/json", body), false, 0, ""},
		{"no challenge", sign(now, secret, []byte(`{"type":"url_verification"}`)), false, 400, ""},
		{"challenge not a string", sign(now, secret, []byte(`{"type":"url_verification","challenge":1}`)), false, 400, ""},
		{"type elsewhere", sign(now, secret, []byte(`{"type":"event_callback","event":{"type":"url_verification"}}`)), false, 0, ""},
		{"an event", sign(now, secret, plugintest.Testdata(t, "event_callback.json")), false, 0, ""},
		{"a form", sign(now, secret, plugintest.Testdata(t, "slash_command.form")), false, 0, ""},
		{"ssl_check", plugintest.NewRequest("/", "application/x-www-form-urlencoded", []byte("ssl_check=1&token=x")), true, 0, ""},
	}
	for _, tt := range tests {
		var w provider.Reply
		handled, err := in.Handshake(&provider.Request{Req: tt.req, Now: now}, &w)
		var pe *provider.Error
		if tt.status != 0 {
			if !errors.As(err, &pe) || pe.Status != tt.status {
				t.Errorf("%s: err = %v; want status %d", tt.name, err, tt.status)
			}
			continue
		}
		if err != nil || handled != tt.handled {
			t.Errorf("%s: Handshake = %v, %v; want %v", tt.name, handled, err, tt.handled)
			continue
		}
		if !handled {
			if !w.IsZero() {
				t.Errorf("%s: unhandled, but wrote %+v", tt.name, w)
			}
			continue
		}
		wantCT := "application/json"
		if tt.reply == "" {
			wantCT = ""
		}
		if w.Status != 200 || string(w.Body) != tt.reply || w.ContentType != wantCT {
			t.Errorf("%s: reply %d %q %q; want 200 %q %q", tt.name, w.Status, w.ContentType, w.Body, wantCT, tt.reply)
		}
	}
}

func TestRoute(t *testing.T) {
	in := provision(t)
	slashJSON := `{"token":"xyzz0WbapA4vBCDEFasx0q6G","team_id":"T1DC2JH3J","team_domain":"testteamnow","channel_id":"G8PSS9T3V","channel_name":"foobar","user_id":"U2CERLKJA","user_name":"roadrunner","command":"/webhook-collect","text":"","response_url":"https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN","trigger_id":"398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"}`
	tests := []struct {
		name         string
		body         []byte
		key, typ, id string
		payload      string // "" = the raw body
		status       int
	}{
		{"events api", plugintest.Testdata(t, "event_callback.json"), "T9TK3CUKW", "app_mention", "Ev0LAN670R", "", 0},
		{"team.id only", []byte(`{"team":{"id":"T2"},"event":{"type":"message"}}`), "T2", "message", "", "", 0},
		{"no team", []byte(`{"type":"app_rate_limited"}`), "", "", "", "", 0},
		{"interactivity, verbatim", plugintest.Testdata(t, "interactivity.form"), "T9TK3CUKW", "block_actions", "", string(plugintest.Testdata(t, "block_actions.json")), 0},
		{"interactivity, team_id", []byte("payload=%7B%22type%22%3A%22view_submission%22%2C%22team_id%22%3A%22T3%22%7D"), "T3", "view_submission", "", `{"type":"view_submission","team_id":"T3"}`, 0},
		{"slash command", plugintest.Testdata(t, "slash_command.form"), "T1DC2JH3J", "/webhook-collect", "", slashJSON, 0},
		{"not JSON", []byte(`{"team_id":`), "", "", "", "", 400},
		{"payload not JSON", []byte("payload=%7Bnope"), "", "", "", "", 400},
		{"payload empty", []byte("payload="), "", "", "", "", 400},
	}
	for _, tt := range tests {
		req := sign(time.Now(), secret, tt.body)
		if bytes.HasPrefix(tt.body, []byte("payload=")) {
			req.Header.SetContentType("application/x-www-form-urlencoded")
		}
		var rt provider.Routing
		err := in.Route(&provider.Request{Req: req}, &rt)
		if tt.status != 0 {
			var pe *provider.Error
			if !errors.As(err, &pe) || pe.Status != tt.status {
				t.Errorf("%s: Route = %v; want status %d", tt.name, err, tt.status)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var key string
		if len(rt.Keys) == 1 {
			key = string(rt.Keys[0])
		}
		if rt.Field != Field || key != tt.key || string(rt.EventType) != tt.typ || string(rt.EventID) != tt.id {
			t.Errorf("%s: field %q keys %q type %q id %q", tt.name, rt.Field, rt.Keys, rt.EventType, rt.EventID)
		}
		if string(rt.Payload) != tt.payload || tt.payload == "" && rt.Payload != nil {
			t.Errorf("%s: payload %s; want %s", tt.name, rt.Payload, tt.payload)
		}
	}
}

// TestSlashCommandObject checks the slash command's object decodes to its
// fields as strings.
func TestSlashCommandObject(t *testing.T) {
	in := provision(t)
	var rt provider.Routing
	body := []byte("team_id=T1&command=%2Fweather&text=94070+%26+%22more%22&text=ignored&user_name=caf%C3%A9")
	if err := in.Route(&provider.Request{Req: sign(time.Now(), secret, append([]byte("token=t&"), body...))}, &rt); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(rt.Payload, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"token": "t", "team_id": "T1", "command": "/weather", "text": `94070 & "more"`, "user_name": "café"}
	if len(got) != len(want) {
		t.Fatalf("payload %s; want %v", rt.Payload, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v; want %v", k, got[k], v)
		}
	}
}

func TestAck(t *testing.T) {
	in := provision(t)
	for _, tt := range []struct {
		file string
		zero bool
	}{{"event_callback.json", true}, {"interactivity.form", false}, {"slash_command.form", false}} {
		var w provider.Reply
		in.Ack(&provider.Request{Req: sign(time.Now(), secret, plugintest.Testdata(t, tt.file))}, &w)
		if w.IsZero() != tt.zero || !tt.zero && (w.Status != 200 || w.Body != nil) {
			t.Errorf("%s: Ack wrote %+v", tt.file, w)
		}
	}
}

func TestProvision(t *testing.T) {
	for _, cfg := range []provider.Config{{}, {Secret: "s", Options: []byte(`{"tolerance":"1m"}`)}} {
		if _, err := (Provider{}).Provision(cfg); err == nil || !strings.HasPrefix(err.Error(), "plugins/slack: ") {
			t.Errorf("Provision(%+v) err = %v", cfg, err)
		}
	}
}

func seeds(t testing.TB) [][]byte {
	return plugintest.Seeds(t, "event_callback.json", "interactivity.form", "slash_command.form", "url_verification.json", "block_actions.json")
}

func FuzzVerify(f *testing.F) {
	plugintest.FuzzVerify(f, suiteCase(f, "event_callback.json", "T9TK3CUKW"), seeds(f))
}

// FuzzRoute fuzzes JSON and form bodies (form extraction included).
func FuzzRoute(f *testing.F) {
	plugintest.FuzzRoute(f, suiteCase(f, "event_callback.json", "T9TK3CUKW"), seeds(f))
}

// FuzzHandshake fuzzes the handshake with signed bodies: it must never
// panic, and a handled url_verification reply must be a JSON object
// holding the challenge the body holds.
func FuzzHandshake(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	in := provision(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		now := time.Now()
		var w provider.Reply
		handled, err := in.Handshake(&provider.Request{Req: sign(now, secret, body), Now: now}, &w)
		var pe *provider.Error
		if err != nil && (!errors.As(err, &pe) || pe.Status != 400) {
			t.Fatalf("Handshake error %v", err)
		}
		if !handled || bytes.Count(body, []byte("challenge")) > 1 {
			return // (encoding/json keeps a repeated key's last value)
		}
		if isForm(&provider.Request{Req: sign(now, secret, body)}) {
			if w.Status != 200 || w.Body != nil {
				t.Fatalf("ssl_check reply %+v", w)
			}
			return
		}
		var reply, sent struct{ Challenge string }
		if json.Unmarshal(w.Body, &reply) != nil || json.Unmarshal(body, &sent) != nil || reply.Challenge != sent.Challenge {
			t.Fatalf("body %q: reply %q", body, w.Body)
		}
	})
}

func BenchmarkVerifyRoute(b *testing.B) {
	in := provision(b)
	for _, file := range []string{"event_callback.json", "slash_command.form", "interactivity.form"} {
		b.Run(file, func(b *testing.B) {
			now := time.Now()
			r := &provider.Request{Req: sign(now, secret, plugintest.Testdata(b, file)), Now: now}
			plugintest.BenchmarkVerifyRoute(b, in, r)
		})
	}
}
