package matchers

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/url"
	"strings"
	"testing"

	"github.com/edgehook/edgehook/provider"
)

type twilioVector struct {
	Token string `json:"token"`
	Form  struct {
		URL, Body, Signature string
	} `json:"form"`
	JSON struct {
		URL, Body, Signature string
	} `json:"json"`
}

var twilioCfg = URLParamsConfig{Header: "X-Twilio-Signature", BodyHashParam: "bodySHA256"}

func twilioMatcher(t testing.TB) (*URLParams, twilioVector) {
	t.Helper()
	var v twilioVector
	loadVector(t, "twilio.json", &v)
	m, err := CompileURLParams(twilioCfg, []byte(v.Token), []byte("previous-token"))
	if err != nil {
		t.Fatal(err)
	}
	return m, v
}

// twReq builds the request Twilio would send to public URL u.
func twReq(method, u, contentType, body, sig string) *provider.Request {
	r := newReq(method, body, unix1700, "X-Twilio-Signature", sig)
	pu, _ := url.Parse(u)
	r.Req.SetRequestURI(pu.RequestURI())
	if contentType != "" {
		r.Req.Header.SetContentType(contentType)
	}
	r.URL = []byte(u)
	return r
}

func twSign(token, data string) string {
	h := hmac.New(sha1.New, []byte(token))
	h.Write([]byte(data))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

const formCT = "application/x-www-form-urlencoded"

func TestURLParamsVectors(t *testing.T) {
	m, v := twilioMatcher(t)
	withPort := strings.Replace(v.Form.URL, "mycompany.com", "mycompany.com:443", 1)
	repeated := "b=2&a=1&a=1&a=0"
	tests := []struct {
		name, method, url, ct, body, sig string
		want                             bool
	}{
		{"published form", "POST", v.Form.URL, formCT, v.Form.Body, v.Form.Signature, true},
		{"form, URL received with :443", "POST", withPort, formCT, v.Form.Body, v.Form.Signature, true},
		{"form, signed with :443", "POST", v.Form.URL, formCT, v.Form.Body,
			twSign(v.Token, withPort+"CallSidCA1234567890ABCDECaller+14158675309Digits1234From+14158675309To+18005551212"), true},
		{"form, params reordered", "POST", v.Form.URL, formCT, "To=%2B18005551212&From=%2B14158675309&Digits=1234&Caller=%2B14158675309&CallSid=CA1234567890ABCDE", v.Form.Signature, true},
		{"form, previous token", "POST", v.Form.URL, formCT, v.Form.Body,
			twSign("previous-token", v.Form.URL+"CallSidCA1234567890ABCDECaller+14158675309Digits1234From+14158675309To+18005551212"), true},
		{"form, repeated name sorted and deduplicated", "POST", "https://a.example/x", formCT, repeated, twSign(v.Token, "https://a.example/xa0a1b2"), true},
		{"form, tampered param", "POST", v.Form.URL, formCT, strings.Replace(v.Form.Body, "1234", "1235", 1), v.Form.Signature, false},
		{"form, other query", "POST", strings.Replace(v.Form.URL, "foo=1", "foo=2", 1), formCT, v.Form.Body, v.Form.Signature, false},
		{"form, http scheme", "POST", strings.Replace(v.Form.URL, "https", "http", 1), formCT, v.Form.Body, v.Form.Signature, false},
		{"published JSON", "POST", v.JSON.URL, "application/json", v.JSON.Body, v.JSON.Signature, true},
		{"JSON, tampered body", "POST", v.JSON.URL, "application/json", strings.Replace(v.JSON.Body, "true", "false", 1), v.JSON.Signature, false},
		{"JSON, bad hash param", "POST", strings.Replace(v.JSON.URL, "0a1f", "zz1f", 1), "application/json", v.JSON.Body, v.JSON.Signature, false},
		{"GET, URL alone", "GET", "https://a.example/x?CallSid=CA1", "", "", twSign(v.Token, "https://a.example/x?CallSid=CA1"), true},
		{"custom port kept", "POST", "https://a.example:8443/x", formCT, "a=1", twSign(v.Token, "https://a.example:8443/xa1"), true},
		{"custom port removed", "POST", "https://a.example:8443/x", formCT, "a=1", twSign(v.Token, "https://a.example/xa1"), true},
		{"missing signature", "POST", v.Form.URL, formCT, v.Form.Body, "", false},
		{"wrong length", "POST", v.Form.URL, formCT, v.Form.Body, v.Form.Signature[:20], false},
		{"not base64", "POST", v.Form.URL, formCT, v.Form.Body, "!" + v.Form.Signature[1:], false},
		{"no URL", "POST", "", formCT, v.Form.Body, v.Form.Signature, false},
	}
	for _, tt := range tests {
		r := twReq(tt.method, tt.url, tt.ct, tt.body, tt.sig)
		if ok, err := m.Match(r); ok != tt.want || err != nil {
			t.Errorf("%s: Match = %v, %v; want %v", tt.name, ok, err, tt.want)
		}
	}
}

func TestSplitPort(t *testing.T) {
	for _, tt := range []struct{ in, base, port, rest string }{
		{"https://a.example/x?y", "https://a.example", ":443", "/x?y"},
		{"http://a.example", "http://a.example", ":80", ""},
		{"https://a.example:8443/x", "https://a.example", ":8443", "/x"},
		{"https://[::1]:9/x", "https://[::1]", ":9", "/x"},
		{"https://[::1]/x", "https://[::1]", ":443", "/x"},
		{"https://u:p@a.example/x", "https://u:p@a.example", ":443", "/x"},
		{"nonsense", "nonsense", "", ""},
	} {
		b, p, r := splitPort([]byte(tt.in))
		if string(b) != tt.base || string(p) != tt.port || string(r) != tt.rest {
			t.Errorf("splitPort(%q) = %q %q %q", tt.in, b, p, r)
		}
	}
}

func TestURLParamsAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	m, v := twilioMatcher(t)
	for _, r := range []*provider.Request{
		twReq("POST", v.Form.URL, formCT, v.Form.Body, v.Form.Signature),
		twReq("POST", v.JSON.URL, "application/json", v.JSON.Body, v.JSON.Signature),
	} {
		m.Match(r)
		if a := testing.AllocsPerRun(100, func() {
			if ok, _ := m.Match(r); !ok {
				t.Fatal("no match")
			}
		}); a != 0 {
			t.Errorf("Match allocates %v times per run; want 0", a)
		}
	}
}

func TestCompileURLParamsErrors(t *testing.T) {
	if _, err := CompileURLParams(URLParamsConfig{}, []byte("s"), nil); err == nil {
		t.Error("no header accepted")
	}
	if _, err := CompileURLParams(twilioCfg, nil, nil); err == nil {
		t.Error("no secret accepted")
	}
	if _, err := CompileURLParams(URLParamsConfig{Header: "h", Algorithm: "md5"}, []byte("s"), nil); err == nil {
		t.Error("unknown algorithm accepted")
	}
}

// FuzzURLParams feeds arbitrary URLs, form bodies and signatures, seeded
// with the Twilio vectors: Match must not panic or fail.
func FuzzURLParams(f *testing.F) {
	m, v := twilioMatcher(f)
	f.Add(v.Form.URL, v.Form.Body, v.Form.Signature, true)
	f.Add(v.JSON.URL, v.JSON.Body, v.JSON.Signature, false)
	f.Add("https://[::1]:/x", "a=1&a=1&%zz", "", true)
	f.Fuzz(func(t *testing.T, u, body, sig string, form bool) {
		r := newReq("POST", body, unix1700, "X-Twilio-Signature", sig)
		if form {
			r.Req.Header.SetContentType(formCT)
		}
		if pu, err := url.Parse(u); err == nil && pu.RawQuery != "" {
			r.Req.SetRequestURI("/x?" + pu.RawQuery)
		}
		r.URL = []byte(u)
		if _, err := m.Match(r); err != nil {
			t.Fatal(err)
		}
	})
}

func BenchmarkURLParams(b *testing.B) {
	m, v := twilioMatcher(b)
	r := twReq("POST", v.Form.URL, formCT, v.Form.Body, v.Form.Signature)
	b.ReportAllocs()
	for b.Loop() {
		if ok, _ := m.Match(r); !ok {
			b.Fatal("no match")
		}
	}
}
