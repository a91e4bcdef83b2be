package matchers

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// render writes a parsed template back as text.
func render(tm Template) string {
	names := map[int]string{}
	for n, k := range placeholders {
		names[k] = n
	}
	var b strings.Builder
	for _, p := range tm.parts {
		if p.kind == partLiteral {
			b.Write(p.lit)
			continue
		}
		b.WriteString("{" + names[p.kind] + "}")
	}
	return b.String()
}

// FuzzTemplate parses arbitrary templates. A template that parses must
// print back to itself, and a matcher compiled from it must accept a
// signature over the content built by plain string substitution, and
// reject it once the body changes.
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"", "{body}", "v0:{timestamp}:{body}", "{id}.{timestamp}.{body}",
		"{method}{url}{body}{timestamp}", "{url}{body}", "{body", "}{", "{}", "{{body}}", "a{id}b"} {
		f.Add(s, "POST", "https://example.com/h?q=1", "msg_1", `{"a":1}`)
	}
	f.Fuzz(func(t *testing.T, tmpl, method, url, id, body string) {
		tm, err := ParseTemplate(tmpl)
		if err != nil {
			return
		}
		want := tmpl
		if want == "" {
			want = "{body}"
		}
		if got := render(tm); got != want {
			t.Fatalf("ParseTemplate(%q) renders as %q", tmpl, got)
		}
		if method == "" || strings.ContainsAny(method, " \t\r\n\x00") || !isPrintable(id) || id == "" {
			return
		}
		const ts = "1700000000"
		cfg := HMACConfig{Header: "Sig", Signed: tmpl, IDHeader: "X-Id"}
		if tm.uses[partTimestamp] {
			cfg.TimestampHeader = "X-Ts"
		}
		m, err := CompileHMAC(cfg, []byte("k"), nil)
		if err != nil {
			t.Fatalf("CompileHMAC(%q): %v", tmpl, err)
		}
		content := strings.NewReplacer("{body}", body, "{timestamp}", ts, "{id}", id, "{method}", method, "{url}", url).Replace(want)
		r := newReq(method, body, unix1700, "Sig", sign("k", content), "X-Id", id, "X-Ts", ts)
		r.URL = []byte(url)
		if string(r.Req.Header.Method()) != method || string(r.Header("X-Id")) != id {
			return // not representable in a request
		}
		if ok, err := m.Match(r); !ok || err != nil {
			t.Fatalf("template %q: Match = %v, %v over %q", tmpl, ok, err, content)
		}
		if tm.uses[partBody] {
			r.Req.SetBodyString(body + "x")
			if ok, _ := m.Match(r); ok {
				t.Fatalf("template %q: a changed body still matches", tmpl)
			}
		}
	})
}

func isPrintable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// FuzzTimestamp checks the timestamp formats against strconv and time.Parse
// and the tolerance both ways, through a timestamp header.
func FuzzTimestamp(f *testing.F) {
	for _, s := range []string{"1700000000", "1700000000000", "0", "-1", "+1700000000", " 1700000000",
		"17000000000000000000000", "2023-11-14T22:13:20Z", "2023-11-14T22:13:20.123456789+01:00", "1e9", ""} {
		f.Add(s, uint8(0), int64(0))
		f.Add(s, uint8(1), int64(299))
		f.Add(s, uint8(2), int64(-301))
	}
	formats := []TimestampFormat{UnixSeconds, UnixMillis, RFC3339}
	f.Fuzz(func(t *testing.T, ts string, format uint8, skew int64) {
		tf := formats[int(format)%len(formats)]
		c, err := newTimestampCheck(tf, 0)
		if err != nil {
			t.Fatal(err)
		}
		now := unix1700.Add(time.Duration(skew) * time.Second)
		got := c.fresh([]byte(ts), now)
		var at time.Time
		ok := false
		switch tf {
		case RFC3339:
			at, err = time.Parse(time.RFC3339, ts)
			ok = err == nil
		default:
			n, err := strconv.ParseUint(ts, 10, 63)
			ok = err == nil && len(ts) <= 18 && ts[0] != '+'
			at = time.Unix(int64(n), 0)
			if tf == UnixMillis {
				at = time.UnixMilli(int64(n))
			}
		}
		want := ok && now.Sub(at) <= DefaultTolerance && at.Sub(now) <= DefaultTolerance
		if got != want {
			t.Fatalf("fresh(%q, %s, now %+ds) = %v; want %v", ts, tf, skew, got, want)
		}
		m, err := CompileHMAC(HMACConfig{Header: "Sig", Signed: "{timestamp}.{body}", TimestampHeader: "X-Ts", TimestampFormat: tf}, []byte("k"), nil)
		if err != nil {
			t.Fatal(err)
		}
		r := newReq("POST", "b", now, "Sig", sign("k", ts+".b"), "X-Ts", ts)
		if string(r.Header("X-Ts")) != ts {
			return // fasthttp normalised the value
		}
		if ok, err := m.Match(r); ok != want || err != nil {
			t.Fatalf("Match with timestamp %q (%s, now %+ds) = %v, %v; want %v", ts, tf, skew, ok, err, want)
		}
	})
}
