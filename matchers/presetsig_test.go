package matchers

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/edgehook/edgehook/provider"
)

const (
	docusignBody = `{"event":"envelope-completed","apiVersion":"v2.1","data":{"envelopeId":"e1"}}`
	docusignSig  = "1ujqKnVv0GYi8CI9X00idxDPC9CPsDTgdVWssffbJA4="
	boxBody      = `{"type":"webhook_event","id":"e1","trigger":"FILE.UPLOADED"}`
	boxTS        = "2023-11-14T14:13:20-08:00"
	boxSig       = "s1U0fxoxmaCjwN1IzLvvcqHYVvKK0nEnkM34kW/uSt8="
)

var (
	numberedPreset = Preset{Name: "numbered", Numbered: 5,
		Signature: HMACConfig{Header: "X-DocuSign-Signature-", Encoding: Base64}}
	pairPreset = Preset{Name: "pair", SecondaryHeader: "BOX-SIGNATURE-SECONDARY",
		Signature: HMACConfig{Header: "BOX-SIGNATURE-PRIMARY", Encoding: Base64, Signed: "{body}{timestamp}",
			TimestampHeader: "BOX-DELIVERY-TIMESTAMP", TimestampFormat: RFC3339, Tolerance: 10 * time.Minute}}
	boxNow = time.Date(2023, 11, 14, 22, 15, 0, 0, time.UTC)
)

func b64mac(key, content string) string {
	h := hmac.New(sha256.New, []byte(key))
	h.Write([]byte(content))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

func compilePreset(t testing.TB, p Preset, secret, previous string) *PresetInstance {
	t.Helper()
	in, err := p.Compile(provider.Config{Secret: secret, PreviousSecret: previous})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func TestPresetNumbered(t *testing.T) {
	in := compilePreset(t, numberedPreset, "docusign_hmac_key", "old_key")
	old := b64mac("old_key", docusignBody)
	bad := strings.Repeat("A", 43) + "="
	tests := []struct {
		name string
		hdr  []string
		want bool
	}{
		{"vector in -1", []string{"X-DocuSign-Signature-1", docusignSig}, true},
		{"vector in -2", []string{"X-DocuSign-Signature-1", bad, "X-DocuSign-Signature-2", docusignSig}, true},
		{"previous key in -3", []string{"X-DocuSign-Signature-1", bad, "X-DocuSign-Signature-2", bad, "X-DocuSign-Signature-3", old}, true},
		{"unpadded", []string{"X-DocuSign-Signature-1", strings.TrimRight(docusignSig, "=")}, true},
		{"last allowed number", []string{"X-DocuSign-Signature-1", bad, "X-DocuSign-Signature-2", bad, "X-DocuSign-Signature-3", bad,
			"X-DocuSign-Signature-4", bad, "X-DocuSign-Signature-5", docusignSig}, true},
		{"past the last number", []string{"X-DocuSign-Signature-1", bad, "X-DocuSign-Signature-2", bad, "X-DocuSign-Signature-3", bad,
			"X-DocuSign-Signature-4", bad, "X-DocuSign-Signature-5", bad, "X-DocuSign-Signature-6", docusignSig}, false},
		{"after a gap", []string{"X-DocuSign-Signature-1", bad, "X-DocuSign-Signature-3", docusignSig}, false},
		{"-1 missing", []string{"X-DocuSign-Signature-2", docusignSig}, false},
		{"unnumbered header", []string{"X-DocuSign-Signature-", docusignSig}, false},
		{"none", nil, false},
		{"two signatures in one header", []string{"X-DocuSign-Signature-1", bad + "," + docusignSig}, false},
		{"wrong key", []string{"X-DocuSign-Signature-1", b64mac("other", docusignBody)}, false},
	}
	for _, tt := range tests {
		ok, err := in.Verify(newReq("POST", docusignBody, unix1700, tt.hdr...))
		if ok != tt.want || err != nil {
			t.Errorf("%s: Verify = %v, %v; want %v", tt.name, ok, err, tt.want)
		}
	}
	if ok, _ := in.Verify(newReq("POST", docusignBody+" ", unix1700, "X-DocuSign-Signature-1", docusignSig)); ok {
		t.Error("tampered body verified")
	}
}

func TestPresetSecondary(t *testing.T) {
	in := compilePreset(t, pairPreset, "box_primary_key", "box_secondary_key")
	second := b64mac("box_secondary_key", boxBody+boxTS)
	firstWithSecond := b64mac("box_secondary_key", boxBody+boxTS)
	tests := []struct {
		name string
		now  time.Time
		hdr  []string
		want bool
	}{
		{"vector in primary", boxNow, []string{"BOX-SIGNATURE-PRIMARY", boxSig}, true},
		{"secondary key in secondary", boxNow, []string{"BOX-SIGNATURE-PRIMARY", "x", "BOX-SIGNATURE-SECONDARY", second}, true},
		{"both", boxNow, []string{"BOX-SIGNATURE-PRIMARY", boxSig, "BOX-SIGNATURE-SECONDARY", second}, true},
		{"primary key in secondary", boxNow, []string{"BOX-SIGNATURE-SECONDARY", boxSig}, false},
		{"secondary key in primary", boxNow, []string{"BOX-SIGNATURE-PRIMARY", firstWithSecond}, false},
		{"stale by 11 min", boxNow.Add(11 * time.Minute), []string{"BOX-SIGNATURE-PRIMARY", boxSig, "BOX-SIGNATURE-SECONDARY", second}, false},
		{"none", boxNow, nil, false},
	}
	for _, tt := range tests {
		hdr := append([]string{"BOX-DELIVERY-TIMESTAMP", boxTS}, tt.hdr...)
		ok, err := in.Verify(newReq("POST", boxBody, tt.now, hdr...))
		if ok != tt.want || err != nil {
			t.Errorf("%s: Verify = %v, %v; want %v", tt.name, ok, err, tt.want)
		}
	}
	// Without a previous secret the secondary header is not checked.
	only := compilePreset(t, pairPreset, "box_primary_key", "")
	r := newReq("POST", boxBody, boxNow, "BOX-DELIVERY-TIMESTAMP", boxTS, "BOX-SIGNATURE-SECONDARY", b64mac("box_primary_key", boxBody+boxTS))
	if ok, _ := only.Verify(r); ok {
		t.Error("secondary header verified with no secondary key configured")
	}
}

func TestPresetShapeErrors(t *testing.T) {
	tests := []struct {
		name string
		p    Preset
	}{
		{"numbered and secondary", Preset{Name: "x", Numbered: 2, SecondaryHeader: "B", Signature: HMACConfig{Header: "A"}}},
		{"numbered too many", Preset{Name: "x", Numbered: MaxNumbered + 1, Signature: HMACConfig{Header: "A"}}},
		{"numbered negative", Preset{Name: "x", Numbered: -1, Signature: HMACConfig{Header: "A"}}},
		{"numbered with timestamp", Preset{Name: "x", Numbered: 2, Signature: HMACConfig{Header: "A", TimestampHeader: "T", Signed: "{timestamp}{body}"}}},
		{"numbered with id", Preset{Name: "x", Numbered: 2, Signature: HMACConfig{Header: "A", IDHeader: "I"}}},
		{"secondary with a bad scheme", Preset{Name: "x", SecondaryHeader: "B", Signature: HMACConfig{Header: "A", Algorithm: "md5"}}},
		{"route and route header", Preset{Name: "x", Route: "a", RouteHeader: "B", Signature: HMACConfig{Header: "A"}}},
		{"bad route", Preset{Name: "x", Route: "a.*.b.*", Signature: HMACConfig{Header: "A"}}},
	}
	for _, tt := range tests {
		if _, err := tt.p.Compile(provider.Config{Secret: "s", PreviousSecret: "p"}); err == nil || !strings.HasPrefix(err.Error(), "plugins/x: ") {
			t.Errorf("%s: Compile err = %v; want a plugins/x error", tt.name, err)
		}
	}
}

func TestOpaqueTimestamp(t *testing.T) {
	cfg := HMACConfig{Header: "X-Zendesk-Webhook-Signature", Encoding: Base64, Signed: "{timestamp}{body}",
		TimestampHeader: "X-Zendesk-Webhook-Signature-Timestamp", TimestampFormat: Opaque}
	m, err := CompileHMAC(cfg, []byte("dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="), nil)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"type":"zen:event-type:ticket.created","account_id":1,"id":"e1"}`
	vec := "QSPOMqy+EMC0zbHHs3aPYTXXP2TavfTRfsCIQI4vXQM="
	for _, tt := range []struct {
		name, ts, sig string
		now           time.Time
		want          bool
	}{
		{"vector, years later", "2023-11-14T22:13:20Z", vec, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"vector, zero now", "2023-11-14T22:13:20Z", vec, time.Time{}, true},
		{"other timestamp", "2023-11-14T22:13:21Z", vec, unix1700, false},
		{"no timestamp", "", vec, unix1700, false},
	} {
		r := newReq("POST", body, tt.now, "X-Zendesk-Webhook-Signature", tt.sig, "X-Zendesk-Webhook-Signature-Timestamp", tt.ts)
		if ok, err := m.Match(r); ok != tt.want || err != nil {
			t.Errorf("%s: Match = %v, %v; want %v", tt.name, ok, err, tt.want)
		}
	}
}

func TestPresetShapesAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	num := compilePreset(t, numberedPreset, "docusign_hmac_key", "old_key")
	rn := newReq("POST", docusignBody, unix1700, "X-DocuSign-Signature-1", "AAAA", "X-DocuSign-Signature-2", docusignSig)
	pair := compilePreset(t, pairPreset, "box_primary_key", "box_secondary_key")
	rp := newReq("POST", boxBody, boxNow, "BOX-DELIVERY-TIMESTAMP", boxTS, "BOX-SIGNATURE-PRIMARY", "x",
		"BOX-SIGNATURE-SECONDARY", b64mac("box_secondary_key", boxBody+boxTS))
	n := testing.AllocsPerRun(200, func() {
		if ok, _ := num.Verify(rn); !ok {
			t.Fatal("numbered: no match")
		}
		if ok, _ := pair.Verify(rp); !ok {
			t.Fatal("pair: no match")
		}
	})
	if n != 0 {
		t.Errorf("Verify allocates %v times per run; want 0", n)
	}
}

// FuzzPresetShapes feeds arbitrary values to the numbered (DocuSign) and
// primary/secondary (Box) header shapes: never a panic, and a match means
// a header holds the MAC of its own key.
func FuzzPresetShapes(f *testing.F) {
	for _, h := range lines(f, "headers.txt") {
		f.Add(h, docusignSig, boxBody)
	}
	f.Add("", docusignSig, docusignBody)
	f.Add(boxSig, "x", boxBody)
	f.Add(boxSig+"==", strings.TrimRight(docusignSig, "="), docusignBody)
	num := compilePreset(f, numberedPreset, "docusign_hmac_key", "old_key")
	pair := compilePreset(f, pairPreset, "box_primary_key", "box_secondary_key")
	f.Fuzz(func(t *testing.T, h1, h2, body string) {
		r := newReq("POST", body, boxNow, "X-DocuSign-Signature-1", h1, "X-DocuSign-Signature-2", h2,
			"BOX-DELIVERY-TIMESTAMP", boxTS, "BOX-SIGNATURE-PRIMARY", h1, "BOX-SIGNATURE-SECONDARY", h2)
		h1, h2 = string(r.Header("X-DocuSign-Signature-1")), string(r.Header("X-DocuSign-Signature-2")) // as stored
		ok, err := num.Verify(r)
		if err != nil || ok && !holds(h1, "docusign_hmac_key", body) && !holds(h1, "old_key", body) &&
			!(h1 != "" && (holds(h2, "docusign_hmac_key", body) || holds(h2, "old_key", body))) {
			t.Fatalf("numbered: Verify(%q, %q) = %v, %v", h1, h2, ok, err)
		}
		ok, err = pair.Verify(r)
		if err != nil || ok && !holds(h1, "box_primary_key", body+boxTS) && !holds(h2, "box_secondary_key", body+boxTS) {
			t.Fatalf("pair: Verify(%q, %q) = %v, %v", h1, h2, ok, err)
		}
	})
}

// holds reports whether header value v decodes to the MAC of content.
func holds(v, key, content string) bool {
	got, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(strings.TrimSpace(v), "="))
	want, _ := base64.StdEncoding.DecodeString(b64mac(key, content))
	return err == nil && bytes.Equal(got, want)
}

func BenchmarkPresetNumbered(b *testing.B) {
	in := compilePreset(b, numberedPreset, "docusign_hmac_key", "old_key")
	r := newReq("POST", docusignBody, unix1700, "X-DocuSign-Signature-1", b64mac("old_key", docusignBody), "X-DocuSign-Signature-2", docusignSig)
	b.ReportAllocs()
	for b.Loop() {
		if ok, _ := in.Verify(r); !ok {
			b.Fatal("no match")
		}
	}
}
