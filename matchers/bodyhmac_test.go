package matchers

import (
	"strings"
	"testing"
	"time"
)

type mailgunVector struct {
	Key, Timestamp, Token, Signature string
}

var mailgunCfg = BodyHMACConfig{
	Signatures: []string{"signature.signature", "signature.parent-signature"},
	Signed:     []string{"signature.timestamp", "signature.token"},
	Timestamp:  "signature.timestamp",
	Tolerance:  15 * time.Minute,
}

func mailgunMatcher(t testing.TB) (*BodyHMAC, mailgunVector) {
	t.Helper()
	var v mailgunVector
	loadVector(t, "mailgun.json", &v)
	m, err := CompileBodyHMAC(mailgunCfg, []byte(v.Key), []byte("previous-key"))
	if err != nil {
		t.Fatal(err)
	}
	return m, v
}

func mailgunBody(ts, token, sig string) string {
	return `{"signature":{"timestamp":"` + ts + `","token":"` + token + `","signature":"` + sig + `"},"event-data":{"event":"delivered","id":"CPgfbmQMTCKtHW6uIWtuVe"}}`
}

func TestBodyHMACVector(t *testing.T) {
	m, v := mailgunMatcher(t)
	tests := []struct {
		name, body string
		now        time.Time
		want       bool
	}{
		{"vector", mailgunBody(v.Timestamp, v.Token, v.Signature), unix1700, true},
		{"upper-case hex", mailgunBody(v.Timestamp, v.Token, strings.ToUpper(v.Signature)), unix1700, true},
		{"escaped token", mailgunBody(v.Timestamp, `a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de\u0030`, v.Signature), unix1700, true},
		{"14 min late", mailgunBody(v.Timestamp, v.Token, v.Signature), unix1700.Add(14 * time.Minute), true},
		{"stale", mailgunBody(v.Timestamp, v.Token, v.Signature), unix1700.Add(16 * time.Minute), false},
		{"future", mailgunBody(v.Timestamp, v.Token, v.Signature), unix1700.Add(-16 * time.Minute), false},
		{"other token", mailgunBody(v.Timestamp, v.Token+"0", v.Signature), unix1700, false},
		{"other timestamp", mailgunBody("1700000001", v.Token, v.Signature), unix1700.Add(time.Second), false},
		{"parent signature only", strings.Replace(mailgunBody(v.Timestamp, v.Token, v.Signature), `"signature":"`, `"signature":"00","parent-signature":"`, 1), unix1700, true},
		{"numeric timestamp", strings.Replace(mailgunBody(v.Timestamp, v.Token, v.Signature), `"1700000000"`, `1700000000`, 1), unix1700, true},
		{"no signature", `{"signature":{"timestamp":"1700000000","token":"t"}}`, unix1700, false},
		{"no token", `{"signature":{"timestamp":"1700000000","signature":"` + v.Signature + `"}}`, unix1700, false},
		{"short signature", mailgunBody(v.Timestamp, v.Token, v.Signature[:10]), unix1700, false},
		{"not JSON", "timestamp=1700000000", unix1700, false},
		{"truncated JSON", mailgunBody(v.Timestamp, v.Token, v.Signature)[:150], unix1700, false},
		{"empty", "", unix1700, false},
	}
	for _, tt := range tests {
		if ok, err := m.Match(newReq("POST", tt.body, tt.now)); ok != tt.want || err != nil {
			t.Errorf("%s: Match = %v, %v; want %v", tt.name, ok, err, tt.want)
		}
	}
}

func TestBodyHMACAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	m, v := mailgunMatcher(t)
	r := newReq("POST", mailgunBody(v.Timestamp, v.Token, v.Signature), unix1700)
	if a := testing.AllocsPerRun(100, func() {
		if ok, _ := m.Match(r); !ok {
			t.Fatal("no match")
		}
	}); a != 0 {
		t.Errorf("Match allocates %v times per run; want 0", a)
	}
}

func TestCompileBodyHMACErrors(t *testing.T) {
	for name, cfg := range map[string]BodyHMACConfig{
		"no signed":     {Signatures: []string{"s"}},
		"no signature":  {Signed: []string{"a"}},
		"bad signature": {Signatures: []string{""}, Signed: []string{"a"}},
		"bad signed":    {Signatures: []string{"s"}, Signed: []string{"a..b"}},
		"bad algorithm": {Signatures: []string{"s"}, Signed: []string{"a"}, Algorithm: "md5"},
		"bad timestamp": {Signatures: []string{"s"}, Signed: []string{"a"}, Timestamp: "."},
	} {
		if _, err := CompileBodyHMAC(cfg, []byte("k"), nil); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := CompileBodyHMAC(mailgunCfg, nil, nil); err == nil {
		t.Error("no secret accepted")
	}
}

// FuzzBodyHMAC feeds arbitrary bodies, seeded with the Mailgun vector:
// Match must not panic or fail.
func FuzzBodyHMAC(f *testing.F) {
	m, v := mailgunMatcher(f)
	f.Add([]byte(mailgunBody(v.Timestamp, v.Token, v.Signature)))
	f.Add([]byte(mailgunBody(v.Timestamp, `\u00zz`, v.Signature)))
	f.Add([]byte(`{"signature":[]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if _, err := m.Match(newReq("POST", string(body), unix1700)); err != nil {
			t.Fatal(err)
		}
	})
}

func BenchmarkBodyHMAC(b *testing.B) {
	m, v := mailgunMatcher(b)
	r := newReq("POST", mailgunBody(v.Timestamp, v.Token, v.Signature), unix1700)
	b.ReportAllocs()
	for b.Loop() {
		if ok, _ := m.Match(r); !ok {
			b.Fatal("no match")
		}
	}
}
