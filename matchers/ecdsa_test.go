package matchers

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/edgehook/edgehook/provider"
)

var sendgridCfg = SignedConfig{
	Header: "X-Twilio-Email-Event-Webhook-Signature", Encoding: Base64,
	Signed: "{timestamp}{body}", TimestampHeader: "X-Twilio-Email-Event-Webhook-Timestamp",
}

func sendgridMatcher(t testing.TB, extra ...*ecdsa.PublicKey) (*ECDSA, signedVector) {
	t.Helper()
	var v signedVector
	loadVector(t, "sendgrid.json", &v)
	k, err := ParseECDSAKey(v.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	m, err := CompileECDSA(sendgridCfg, append([]*ecdsa.PublicKey{k}, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	return m, v
}

func sgReq(body, ts, sig string) *provider.Request {
	return newReq("POST", body, unix1700, "X-Twilio-Email-Event-Webhook-Signature", sig, "X-Twilio-Email-Event-Webhook-Timestamp", ts)
}

func TestECDSAVector(t *testing.T) {
	m, v := sendgridMatcher(t)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	d := sha256.Sum256([]byte(v.Timestamp + v.Body))
	otherSig, _ := ecdsa.SignASN1(rand.Reader, other, d[:])
	tests := []struct {
		name, ts, body, sig string
		want                bool
	}{
		{"published", v.Timestamp, v.Body, v.Signature, true},
		{"unpadded", v.Timestamp, v.Body, strings.TrimRight(v.Signature, "="), false},
		{"without the trailing CRLF", v.Timestamp, strings.TrimSuffix(v.Body, "\r\n"), v.Signature, false},
		{"other timestamp", "1600112503", v.Body, v.Signature, false},
		{"other key", v.Timestamp, v.Body, base64.StdEncoding.EncodeToString(otherSig), false},
		{"missing timestamp", "", v.Body, v.Signature, false},
		{"missing signature", v.Timestamp, v.Body, "", false},
		{"truncated", v.Timestamp, v.Body, v.Signature[:40], false},
		{"not base64", v.Timestamp, v.Body, "!!" + v.Signature[2:], false},
		{"too long", v.Timestamp, v.Body, strings.Repeat("A", 200), false},
	}
	for _, tt := range tests {
		if ok, err := m.Match(sgReq(tt.body, tt.ts, tt.sig)); ok != tt.want || err != nil {
			t.Errorf("%s: Match = %v, %v; want %v", tt.name, ok, err, tt.want)
		}
	}
}

func TestECDSARotationAndPEM(t *testing.T) {
	next, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&next.PublicKey)
	k, err := ParseECDSAKey(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))
	if err != nil {
		t.Fatal(err)
	}
	m, v := sendgridMatcher(t, k)
	d := sha256.Sum256([]byte(v.Timestamp + v.Body))
	sig, _ := ecdsa.SignASN1(rand.Reader, next, d[:])
	for _, s := range []string{v.Signature, base64.StdEncoding.EncodeToString(sig)} {
		if ok, _ := m.Match(sgReq(v.Body, v.Timestamp, s)); !ok {
			t.Errorf("signature by one of the two keys rejected")
		}
	}
}

func TestParseECDSAKeyErrors(t *testing.T) {
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	rder, _ := x509.MarshalPKIXPublicKey(&rk.PublicKey)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	pder, _ := x509.MarshalPKIXPublicKey(&p384.PublicKey)
	for name, s := range map[string]string{
		"not base64": "!!", "not DER": "AAAA", "RSA": base64.StdEncoding.EncodeToString(rder),
		"P-384": base64.StdEncoding.EncodeToString(pder),
	} {
		if _, err := ParseECDSAKey(s); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := CompileECDSA(sendgridCfg); err == nil {
		t.Error("no key accepted")
	}
}

// FuzzECDSA feeds arbitrary signatures, timestamps and bodies, seeded
// with the SendGrid vector: Match must not panic or fail, and may accept
// only the signed bytes.
func FuzzECDSA(f *testing.F) {
	m, v := sendgridMatcher(f)
	f.Add(v.Signature, v.Timestamp, []byte(v.Body))
	f.Add("MEUCIQ==", v.Timestamp, []byte(v.Body))
	f.Add("", "", []byte{})
	f.Fuzz(func(t *testing.T, sig, ts string, body []byte) {
		r := sgReq(string(body), ts, sig)
		ok, err := m.Match(r)
		if err != nil {
			t.Fatal(err)
		}
		if ok && string(r.Header("X-Twilio-Email-Event-Webhook-Timestamp"))+string(body) != v.Timestamp+v.Body {
			t.Fatalf("accepted a message that was not signed: %q %q", ts, body)
		}
	})
}

func BenchmarkECDSA(b *testing.B) {
	m, v := sendgridMatcher(b)
	r := sgReq(v.Body, v.Timestamp, v.Signature)
	b.ReportAllocs()
	for b.Loop() {
		if ok, _ := m.Match(r); !ok {
			b.Fatal("no match")
		}
	}
}
