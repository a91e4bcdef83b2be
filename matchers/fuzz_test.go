package matchers

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzHeader feeds arbitrary signature headers to the bare
// (GitHub), list (Stripe) and base64 list (Standard Webhooks) shapes. It
// must never panic, and a bare or Stripe match must contain the right MAC.
func FuzzHeader(f *testing.F) {
	for _, h := range lines(f, "headers.txt") {
		f.Add(h, "Hello, World!")
		f.Add(h, stripeBody)
	}
	gh, err := CompileHMAC(githubCfg, []byte(githubSecret), nil)
	if err != nil {
		f.Fatal(err)
	}
	st, err := CompileHMAC(stripeCfg, []byte("whsec_test_secret"), nil)
	if err != nil {
		f.Fatal(err)
	}
	sw, err := CompileHMAC(stdwhCfg, stdwhKey(f), nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, header, body string) {
		r := newReq("POST", body, unix1700, "X-Hub-Signature-256", header, "Stripe-Signature", header,
			"webhook-signature", header, "webhook-id", "msg_1", "webhook-timestamp", "1700000000")
		header = string(r.Header("X-Hub-Signature-256")) // as fasthttp stores it
		if ok, err := gh.Match(r); err != nil || ok && !strings.Contains(strings.ToLower(header), sign(githubSecret, body)) {
			t.Fatalf("github shape: Match(%q) = %v, %v", header, ok, err)
		}
		if ok, err := st.Match(r); err != nil || ok && !strings.Contains(strings.ToLower(header),
			sign("whsec_test_secret", string(listValue([]byte(header), ',', []byte("t=")))+"."+body)) {
			t.Fatalf("stripe shape: Match(%q) = %v, %v", header, ok, err)
		}
		if _, err := sw.Match(r); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzPathText compares Path.Text with encoding/json on valid documents
// without duplicate keys, and checks it never panics on the rest.
func FuzzPathText(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "json", "*.json"))
	paths := lines(f, filepath.Join("json", "paths.txt"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, p := range paths {
			f.Add(b, p)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, path string) {
		p, err := CompilePath(path)
		if err != nil {
			return
		}
		got, ok := p.Text(body, nil)
		if _, err := p.Key(body, nil); err != nil && json.Valid(body) {
			t.Fatalf("Key on valid JSON: %v", err)
		}
		if !json.Valid(body) || hasDuplicateKeys(body) {
			return
		}
		want, wok := oracle(t, body, p.keys)
		if ok != wok {
			t.Fatalf("Text(%q, %q) ok = %v (%q); encoding/json says %v (%q)", body, path, ok, got, wok, want)
		}
		if ok && string(got) != want && utf8.Valid(got) && !strings.ContainsRune(want, utf8.RuneError) {
			t.Fatalf("Text(%q, %q) = %q; encoding/json says %q", body, path, got, want)
		}
	})
}

// oracle looks the path up with encoding/json.
func oracle(t *testing.T, body []byte, keys []string) (string, bool) {
	v, ok := navigate(decodeAny(t, body), keys)
	if !ok {
		return "", false
	}
	return scalar(v)
}

// decodeAny decodes a valid document with encoding/json, numbers as
// json.Number.
func decodeAny(t *testing.T, body []byte) any {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// navigate follows jsonparser-style keys ("id", "[0]") through v.
func navigate(v any, keys []string) (any, bool) {
	for _, k := range keys {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[k]; !ok {
				return nil, false
			}
		case []any:
			if len(k) < 3 || k[0] != '[' {
				return nil, false
			}
			n, ok := parseUint([]byte(k[1 : len(k)-1]))
			if !ok || n >= int64(len(x)) {
				return nil, false
			}
			v = x[n]
		default:
			return nil, false
		}
	}
	return v, true
}

// scalar is the routing text of a decoded scalar.
func scalar(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return string(x), true
	case bool:
		if x {
			return "true", true
		}
		return "false", true
	}
	return "", false
}

// hasDuplicateKeys reports whether an object in the valid document body
// repeats a key (encoding/json keeps the last, jsonparser the first).
func hasDuplicateKeys(body []byte) bool {
	d := json.NewDecoder(bytes.NewReader(body))
	type frame struct {
		obj    bool
		keys   map[string]bool
		expect bool // next string token is a key
	}
	var stack []*frame
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return false
		}
		if err != nil {
			return true // not expected for valid JSON; skip the input
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.obj && top.expect {
			if s, ok := tok.(string); ok {
				if top.keys[s] {
					return true
				}
				top.keys[s] = true
				top.expect = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			if top != nil && top.obj {
				top.expect = true
			}
			stack = append(stack, &frame{obj: true, keys: map[string]bool{}, expect: true})
			continue
		case json.Delim('['):
			if top != nil && top.obj {
				top.expect = true
			}
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			continue
		}
		if top != nil && top.obj {
			top.expect = true
		}
	}
}

// TestSignatureHeaderSeeds runs the fuzz seeds' hmac vector as a check that
// the seed file is read.
func TestSignatureHeaderSeeds(t *testing.T) {
	h := hmac.New(sha256.New, []byte(githubSecret))
	h.Write([]byte("Hello, World!"))
	if want := "sha256=" + hex.EncodeToString(h.Sum(nil)); lines(t, "headers.txt")[0] != want {
		t.Fatalf("headers.txt does not start with the GitHub vector %s", want)
	}
}
