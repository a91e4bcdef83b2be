package discord

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgehook/edgehook/plugins/plugintest"
	"github.com/edgehook/edgehook/provider"
	"github.com/valyala/fasthttp"
)

// The PROVIDERS.md vector: its seed, public key and signature.
const (
	vectorSeed = "26c56d39c9497540289f1bb7b9814267c48541657c422d62019f9c514b7855ad"
	vectorKey  = "97c12cf180c4e6a573e20ae200d41d8db776c8c3e5c5aedf14e89696640e5481"
	vectorSig  = "5a37b8cfc07576bd3b6426724ae4dcae004200d17ce7f87c8571afdfa0667e4fb802eeb0027eec64b977f5995fbcfa757f7ae74cb90524f1d03152def4ccb809"
)

// privateKey returns the private key behind a public-key "secret": the
// vector's seed for its key, else a key derived from the text (so that a
// wrong secret signs with a wrong key).
func privateKey(secret string) ed25519.PrivateKey {
	if secret == vectorKey {
		seed, _ := hex.DecodeString(vectorSeed)
		return ed25519.NewKeyFromSeed(seed)
	}
	seed := sha256.Sum256([]byte(secret))
	return ed25519.NewKeyFromSeed(seed[:])
}

func publicKey(secret string) string {
	return hex.EncodeToString(privateKey(secret).Public().(ed25519.PublicKey))
}

// previousKey is a second application key, for the rotation case.
var previousKey = publicKey("previous")

func init() {
	// previousKey signs with privateKey("previous"); map it back.
	keyOf[previousKey] = "previous"
}

var keyOf = map[string]string{}

// sign builds a delivery as Discord sends it, signed at now by the key
// behind secret (a public key).
func sign(now time.Time, secret string, body []byte) *fasthttp.Request {
	if s, ok := keyOf[secret]; ok {
		secret = s
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	req := new(fasthttp.Request)
	req.Header.SetMethod("POST")
	req.SetRequestURI("/webhook/prod/discord")
	req.Header.SetContentType("application/json")
	req.Header.Set("User-Agent", "Discord-Interactions/1.0 (+https://discord.com)")
	req.Header.Set(TimestampHeader, ts)
	req.Header.Set(SignatureHeader, hex.EncodeToString(ed25519.Sign(privateKey(secret), append([]byte(ts), body...))))
	req.SetBody(body)
	return req
}

func testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func suiteCase(t testing.TB, body string, opts string) plugintest.Case {
	c := plugintest.Case{
		Provider: Provider{},
		Config:   provider.Config{Secret: vectorKey, PreviousSecret: previousKey},
		Sign:     sign,
		Body:     testdata(t, body),
		Field:    Field,
		Keys:     []string{"123"},
		Header:   SignatureHeader,
		Signed:   true,
	}
	if opts != "" {
		c.Config.Options = json.RawMessage(opts)
		c.Timestamped = true
	}
	ping := testdata(t, "interaction_ping.json")
	c.Vectors = []plugintest.Vector{{
		Name:   "PROVIDERS.md constructed, discord-interactions verifyKey checked",
		Config: provider.Config{Secret: vectorKey},
		Now:    time.Unix(1700000000, 0),
		Request: func() *fasthttp.Request {
			return plugintest.NewRequest("/webhook/prod/discord", "application/json", ping,
				SignatureHeader, vectorSig, TimestampHeader, "1700000000")
		},
	}}
	return c
}

func TestConformance(t *testing.T) {
	t.Run("command", func(t *testing.T) { plugintest.Run(t, suiteCase(t, "command.json", "")) })
	t.Run("event with tolerance", func(t *testing.T) {
		plugintest.Run(t, suiteCase(t, "event_authorized.json", `{"tolerance":"5m"}`))
	})
}

func provision(t *testing.T, opts string) *Instance {
	t.Helper()
	cfg := provider.Config{Secret: vectorKey}
	if opts != "" {
		cfg.Options = json.RawMessage(opts)
	}
	inst, err := Provider{}.Provision(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return inst.(*Instance)
}

// TestPublishedVector checks the PROVIDERS.md vector byte for byte and its
// PING reply.
func TestPublishedVector(t *testing.T) {
	in := provision(t, "")
	req := new(fasthttp.Request)
	req.Header.SetMethod("POST")
	req.Header.Set(SignatureHeader, vectorSig)
	req.Header.Set(TimestampHeader, "1700000000")
	req.SetBody(testdata(t, "interaction_ping.json"))
	r := &provider.Request{Req: req, Now: time.Now()}
	if ok, err := in.Verify(r); !ok || err != nil {
		t.Fatalf("Verify = %v, %v", ok, err)
	}
	var w provider.Reply
	if handled, err := in.Handshake(r, &w); !handled || err != nil || w.Status != 200 || w.ContentType != "application/json" || string(w.Body) != `{"type":1}` {
		t.Fatalf("Handshake = %v, %v, %+v", handled, err, w)
	}
	req.Header.Set(SignatureHeader, strings.Replace(vectorSig, "5a", "5b", 1))
	if handled, _ := in.Handshake(r, &w); handled {
		t.Fatal("a PING with a bad signature was answered")
	}
	if ok, _ := in.Verify(r); ok {
		t.Fatal("a bad signature verified")
	}
}

func TestHandshake(t *testing.T) {
	in := provision(t, "")
	now := time.Now()
	tests := []struct {
		name   string
		body   []byte
		secret string
		status int // 0: not handled
		body2  string
	}{
		{"interactions PING", testdata(t, "interaction_ping.json"), vectorKey, 200, `{"type":1}`},
		{"webhook events PING", testdata(t, "event_ping.json"), vectorKey, 204, ""},
		{"PING signed by another key", testdata(t, "event_ping.json"), "other", 0, ""},
		{"command", testdata(t, "command.json"), vectorKey, 0, ""},
		{"event", testdata(t, "event_authorized.json"), vectorKey, 0, ""},
		{"not JSON", []byte("type=1"), vectorKey, 0, ""},
	}
	for _, tt := range tests {
		var w provider.Reply
		handled, err := in.Handshake(&provider.Request{Req: sign(now, tt.secret, tt.body), Now: now}, &w)
		if err != nil || handled != (tt.status != 0) || handled && (w.Status != tt.status || string(w.Body) != tt.body2 || w.ContentType != "application/json") {
			t.Errorf("%s: Handshake = %v, %v, %+v", tt.name, handled, err, w)
		}
	}
}

func TestRouteAndAck(t *testing.T) {
	in := provision(t, "")
	tests := []struct {
		name, file, typ, id string
		ackStatus           int
		ack                 string
	}{
		{"command", "command.json", "APPLICATION_COMMAND", "1200000000000000001", 0, `{"type":5}`},
		{"component", "component.json", "MESSAGE_COMPONENT", "1200000000000000002", 0, `{"type":6}`},
		{"event", "event_authorized.json", "APPLICATION_AUTHORIZED", "", 204, ""},
		{"event ping", "event_ping.json", "", "", 204, ""},
	}
	for _, tt := range tests {
		r := &provider.Request{Req: sign(time.Now(), vectorKey, testdata(t, tt.file))}
		var rt provider.Routing
		if err := in.Route(r, &rt); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if rt.Field != Field || len(rt.Keys) != 1 || string(rt.Keys[0]) != "123" || string(rt.EventType) != tt.typ || string(rt.EventID) != tt.id {
			t.Errorf("%s: Route = %q %q type %q id %q", tt.name, rt.Field, rt.Keys, rt.EventType, rt.EventID)
		}
		var w provider.Reply
		in.Ack(r, &w)
		if w.Status != tt.ackStatus || string(w.Body) != tt.ack || w.ContentType != "application/json" {
			t.Errorf("%s: Ack = %+v", tt.name, w)
		}
	}
	var w provider.Reply
	in.Ack(&provider.Request{Req: sign(time.Now(), vectorKey, []byte(`{"type":4,"application_id":"123"}`))}, &w)
	if string(w.Body) != `{"type":8,"data":{"choices":[]}}` {
		t.Errorf("autocomplete Ack = %s", w.Body)
	}
	for _, b := range []string{`{"type":"2"}`, `[1]`, `{"type":2`, ``, `{"application_id":"1"}`} {
		var rt provider.Routing
		var pe *provider.Error
		if err := in.Route(&provider.Request{Req: sign(time.Now(), vectorKey, []byte(b))}, &rt); !errors.As(err, &pe) || pe.Status != 400 {
			t.Errorf("Route(%q) = %v; want a 400", b, err)
		}
	}
}

func TestProvision(t *testing.T) {
	tests := []struct {
		name string
		cfg  provider.Config
		ok   bool
	}{
		{"key", provider.Config{Secret: vectorKey}, true},
		{"two keys", provider.Config{Secret: vectorKey, PreviousSecret: previousKey}, true},
		{"tolerance", provider.Config{Secret: vectorKey, Options: json.RawMessage(`{"tolerance":"10m"}`)}, true},
		{"no key", provider.Config{}, false},
		{"key not hex", provider.Config{Secret: "not a key"}, false},
		{"short key", provider.Config{Secret: vectorKey[:62]}, false},
		{"bad previous", provider.Config{Secret: vectorKey, PreviousSecret: "x"}, false},
		{"bad tolerance", provider.Config{Secret: vectorKey, Options: json.RawMessage(`{"tolerance":"-1s"}`)}, false},
		{"unknown option", provider.Config{Secret: vectorKey, Options: json.RawMessage(`{"public_key":"x"}`)}, false},
	}
	for _, tt := range tests {
		_, err := Provider{}.Provision(tt.cfg)
		if (err == nil) != tt.ok {
			t.Errorf("%s: Provision err = %v; want ok %v", tt.name, err, tt.ok)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "plugins/discord: ") {
			t.Errorf("%s: error %q lacks the package prefix", tt.name, err)
		}
	}
}

func seeds(t testing.TB) [][]byte {
	var out [][]byte
	for _, n := range []string{"interaction_ping.json", "command.json", "component.json", "event_ping.json", "event_authorized.json"} {
		out = append(out, testdata(t, n))
	}
	return out
}

func FuzzVerify(f *testing.F) { plugintest.FuzzVerify(f, suiteCase(f, "command.json", ""), seeds(f)) }

func FuzzRoute(f *testing.F) { plugintest.FuzzRoute(f, suiteCase(f, "command.json", ""), seeds(f)) }

func BenchmarkVerifyRoute(b *testing.B) {
	inst, _ := Provider{}.Provision(provider.Config{Secret: vectorKey})
	body := testdata(b, "command.json")
	r := &provider.Request{Req: sign(time.Now(), vectorKey, body), Now: time.Now()}
	var rt provider.Routing
	b.ReportAllocs()
	for b.Loop() {
		rt.Reset()
		if ok, _ := inst.Verify(r); !ok {
			b.Fatal("Verify failed")
		}
		if err := inst.Route(r, &rt); err != nil {
			b.Fatal(err)
		}
	}
}
