package matchers

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// signedVector is a public-key vector of testdata/vectors.
type signedVector struct {
	Seed      string `json:"seed"`
	PublicKey string `json:"public_key"`
	Timestamp string `json:"timestamp"`
	Body      string `json:"body"`
	Signature string `json:"signature"`
}

func loadVector(t testing.TB, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "vectors", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

var discordCfg = SignedConfig{Header: "X-Signature-Ed25519", Signed: "{timestamp}{body}", TimestampHeader: "X-Signature-Timestamp"}

func discordMatcher(t testing.TB, cfg SignedConfig, extra ...ed25519.PublicKey) (*Ed25519, signedVector) {
	t.Helper()
	var v signedVector
	loadVector(t, "discord.json", &v)
	k, err := ParseEd25519Key(v.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	m, err := CompileEd25519(cfg, append([]ed25519.PublicKey{k}, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	return m, v
}

func TestEd25519Vector(t *testing.T) {
	m, v := discordMatcher(t, discordCfg)
	seed, _ := hex.DecodeString(v.Seed)
	priv := ed25519.NewKeyFromSeed(seed)
	if got := hex.EncodeToString(priv.Public().(ed25519.PublicKey)); got != v.PublicKey {
		t.Fatalf("seed gives public key %s; vector says %s", got, v.PublicKey)
	}
	other := ed25519.NewKeyFromSeed(make([]byte, 32))
	otherSig := hex.EncodeToString(ed25519.Sign(other, []byte(v.Timestamp+v.Body)))
	tests := []struct {
		name, ts, body, sig string
		want                bool
	}{
		{"published", v.Timestamp, v.Body, v.Signature, true},
		{"upper-case hex", v.Timestamp, v.Body, strings.ToUpper(v.Signature), true},
		{"tampered body", v.Timestamp, strings.Replace(v.Body, "tok", "tik", 1), v.Signature, false},
		{"other timestamp", "1700000001", v.Body, v.Signature, false},
		{"other key", v.Timestamp, v.Body, otherSig, false},
		{"missing timestamp", "", v.Body, v.Signature, false},
		{"missing signature", v.Timestamp, v.Body, "", false},
		{"short", v.Timestamp, v.Body, v.Signature[:126], false},
		{"long", v.Timestamp, v.Body, v.Signature + "00", false},
		{"not hex", v.Timestamp, v.Body, "zz" + v.Signature[2:], false},
		{"empty body", v.Timestamp, "", v.Signature, false},
	}
	for _, tt := range tests {
		r := newReq("POST", tt.body, unix1700, "X-Signature-Ed25519", tt.sig, "X-Signature-Timestamp", tt.ts)
		if ok, err := m.Match(r); ok != tt.want || err != nil {
			t.Errorf("%s: Match = %v, %v; want %v", tt.name, ok, err, tt.want)
		}
	}
}

func TestEd25519Rotation(t *testing.T) {
	next := ed25519.NewKeyFromSeed(make([]byte, 32))
	m, v := discordMatcher(t, discordCfg, next.Public().(ed25519.PublicKey))
	sig := hex.EncodeToString(ed25519.Sign(next, []byte(v.Timestamp+v.Body)))
	for _, s := range []string{v.Signature, sig} {
		r := newReq("POST", v.Body, unix1700, "X-Signature-Ed25519", s, "X-Signature-Timestamp", v.Timestamp)
		if ok, _ := m.Match(r); !ok {
			t.Errorf("signature %.16s… by one of the two keys rejected", s)
		}
	}
}

func TestEd25519Tolerance(t *testing.T) {
	cfg := discordCfg
	cfg.Tolerance = 5 * time.Minute
	m, v := discordMatcher(t, cfg)
	for _, tt := range []struct {
		now  time.Time
		want bool
	}{{unix1700, true}, {unix1700.Add(4 * time.Minute), true}, {unix1700.Add(6 * time.Minute), false}, {unix1700.Add(-6 * time.Minute), false}} {
		r := newReq("POST", v.Body, tt.now, "X-Signature-Ed25519", v.Signature, "X-Signature-Timestamp", v.Timestamp)
		if ok, _ := m.Match(r); ok != tt.want {
			t.Errorf("now %v: Match = %v; want %v", tt.now, ok, tt.want)
		}
	}
}

func TestCompileEd25519Errors(t *testing.T) {
	k := make(ed25519.PublicKey, 32)
	for name, f := range map[string]func() error{
		"no header": func() error { _, err := CompileEd25519(SignedConfig{}, k); return err },
		"no key":    func() error { _, err := CompileEd25519(discordCfg); return err },
		"short key": func() error { _, err := CompileEd25519(discordCfg, k[:31]); return err },
		"ts without hd": func() error {
			_, err := CompileEd25519(SignedConfig{Header: "h", Signed: "{timestamp}"}, k)
			return err
		},
		"bad template":  func() error { _, err := CompileEd25519(SignedConfig{Header: "h", Signed: "{nope}"}, k); return err },
		"bad key text":  func() error { _, err := ParseEd25519Key("zz"); return err },
		"short key hex": func() error { _, err := ParseEd25519Key("abcd"); return err },
	} {
		if f() == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestEd25519Allocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	m, v := discordMatcher(t, discordCfg)
	r := newReq("POST", v.Body, unix1700, "X-Signature-Ed25519", v.Signature, "X-Signature-Timestamp", v.Timestamp)
	if a := testing.AllocsPerRun(100, func() {
		if ok, _ := m.Match(r); !ok {
			t.Fatal("no match")
		}
	}); a != 0 {
		t.Errorf("Match allocates %v times per run; want 0", a)
	}
}

// FuzzEd25519 feeds arbitrary signatures, timestamps and bodies, seeded
// with the Discord vector: Match must not panic or fail, and may accept
// only the signed bytes.
func FuzzEd25519(f *testing.F) {
	m, v := discordMatcher(f, discordCfg)
	f.Add(v.Signature, v.Timestamp, []byte(v.Body))
	f.Add(v.Signature[:64], v.Timestamp, []byte(v.Body))
	f.Add("", "", []byte{})
	f.Fuzz(func(t *testing.T, sig, ts string, body []byte) {
		r := newReq("POST", string(body), unix1700, "X-Signature-Ed25519", sig, "X-Signature-Timestamp", ts)
		ok, err := m.Match(r)
		if err != nil {
			t.Fatal(err)
		}
		if ok && (string(r.Header("X-Signature-Timestamp"))+string(body) != v.Timestamp+v.Body) {
			t.Fatalf("accepted a message that was not signed: %q %q", ts, body)
		}
	})
}

func BenchmarkEd25519(b *testing.B) {
	m, v := discordMatcher(b, discordCfg)
	r := newReq("POST", v.Body, unix1700, "X-Signature-Ed25519", v.Signature, "X-Signature-Timestamp", v.Timestamp)
	b.ReportAllocs()
	for b.Loop() {
		if ok, _ := m.Match(r); !ok {
			b.Fatal("no match")
		}
	}
}
