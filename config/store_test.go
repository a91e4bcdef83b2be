package config

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"testing"
)

func TestStoreRejectsInvalid(t *testing.T) {
	f := newFixture(t)
	f.seed()
	ctx := ctxT(t)
	env := func(js string) error { _, err := f.store.PutEnvironment(ctx, "e1", []byte(js)); return err }
	integ := func(js string) error { _, err := f.store.PutIntegration(ctx, "prod", "i1", []byte(js)); return err }
	conn := func(js string) error {
		_, err := f.store.PutConnection(ctx, "prod", "gh", "c1", []byte(js))
		return err
	}
	tests := []struct {
		name string
		put  func(string) error
		js   string
	}{
		{"env unknown field", env, `{"webhook_urls":[],"extra":1}`},
		{"env trailing data", env, `{} {}`},
		{"env not an object", env, `["x"]`},
		{"env null", env, `null`},
		{"env bad json", env, `{"webhook_urls":`},
		{"env three urls", env, `{"webhook_urls":["http://a","http://b","http://c"]}`},
		{"env relative url", env, `{"webhook_urls":["/hooks"]}`},
		{"env ftp url", env, `{"webhook_urls":["ftp://a/b"]}`},
		{"env unmatched", env, `{"unmatched":"keep"}`},
		{"env url without host", env, `{"webhook_urls":["http://:80"]}`},
		{"env url bad port", env, `{"webhook_urls":["http://app.example:99999/"]}`},
		{"env url with credentials", env, `{"webhook_urls":["https://u:p@app.example/"]}`},
		{"env whsec not base64", env, `{"webhook_secret":"whsec_!!not base64"}`},
		{"integ unknown field", integ, `{"provider":"fake","secret":"x"}`},
		{"integ no provider", integ, `{"webhook_secret":"x"}`},
		{"integ unknown provider", integ, `{"provider":"nope"}`},
		{"integ bad options", integ, `{"provider":"fake","options":{"mode":"bad"}}`},
		{"integ unknown option", integ, `{"provider":"fake","options":{"colour":"red"}}`},
		{"integ negative max_body", integ, `{"provider":"fake","max_body":-1}`},
		{"integ bad dedupe", integ, `{"provider":"fake","dedupe_window":"1 day"}`},
		{"integ bad sync", integ, `{"provider":"fake","syncs":[{"name":"s","runner_url":"x","extra":1}]}`},
		{"conn unknown field", conn, `{"config":{},"connectionId":"c1"}`},
		{"conn id mismatch", conn, `{"connection_id":"c2"}`},
		{"conn bad override", conn, `{"webhook_url_override":"nope"}`},
		{"conn override without host", conn, `{"webhook_url_override":"http://:80/x"}`},
		{"conn config not object", conn, `{"config":[1]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.put(tt.js)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("got %v, want a *ValidationError", err)
			}
		})
	}
}

func TestStoreRejectsBadNames(t *testing.T) {
	f := newFixture(t)
	f.seed()
	ctx := ctxT(t)
	for _, name := range []string{"", "a/b", ".x", "-x", "a b", "é", string(make([]byte, 129))} {
		_, err := f.store.PutEnvironment(ctx, name, []byte(`{}`))
		var ve *ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("PutEnvironment(%q) = %v, want a *ValidationError", name, err)
		}
		_, err = f.store.PutConnection(ctx, "prod", "gh", name, []byte(`{}`))
		if !errors.As(err, &ve) {
			t.Errorf("PutConnection(%q) = %v, want a *ValidationError", name, err)
		}
	}
}

func TestStoreParentsMustExist(t *testing.T) {
	f := newFixture(t)
	ctx := ctxT(t)
	if _, err := f.store.PutIntegration(ctx, "prod", "gh", []byte(`{"provider":"fake"}`)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("integration without environment: %v", err)
	}
	f.seed()
	if _, err := f.store.PutConnection(ctx, "prod", "other", "c1", []byte(`{}`)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("connection without integration: %v", err)
	}
	if err := f.store.DeleteConnection(ctx, "prod", "gh", "missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleting a missing connection: %v", err)
	}
	if _, err := f.store.GetConnection(ctx, "prod", "gh", "missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("getting a missing connection: %v", err)
	}
}

func TestStoreRoundTrip(t *testing.T) {
	f := newFixture(t)
	f.seed()
	ctx := ctxT(t)
	e, err := f.store.GetEnvironment(ctx, "prod")
	if err != nil || e.Unmatched != "forward" || e.WebhookSecret != "s" {
		t.Fatalf("GetEnvironment = %+v, %v", e, err)
	}
	in, err := f.store.GetIntegration(ctx, "prod", "gh")
	if err != nil || in.Provider != "fake" {
		t.Fatalf("GetIntegration = %+v, %v", in, err)
	}
	f.putConn("c1", `{"connection_id":"c1","config":{"installation_id":1001},"webhook_url_override":"https://x.example/h"}`)
	c, err := f.store.GetConnection(ctx, "prod", "gh", "c1")
	if err != nil || c.WebhookURLOverride != "https://x.example/h" || string(c.Config["installation_id"]) != "1001" {
		t.Fatalf("GetConnection = %+v, %v", c, err)
	}
}

func TestStoreIndexConsistency(t *testing.T) {
	f := newFixture(t)
	f.seed()
	f.putConn("other", `{"config":{"installation_id":7}}`)
	steps := []struct {
		name string
		js   string // "" deletes
		want []string
	}{
		{"create", `{"config":{"installation_id":1001,"team":"T/1%x","flag":true,"nested":{"a":1},"list":[1],"nil":null,"empty":""}}`,
			[]string{"flag/true/c1", "installation_id/1001/c1", "team/T%2F1%25x/c1"}},
		{"update", `{"config":{"installation_id":"1002","team":"T/1%x","esc/field":"a\nb"}}`,
			[]string{"esc%2Ffield/a%0Ab/c1", "installation_id/1002/c1", "team/T%2F1%25x/c1"}},
		{"same again", `{"config":{"installation_id":"1002","team":"T/1%x","esc/field":"a\nb"}}`,
			[]string{"esc%2Ffield/a%0Ab/c1", "installation_id/1002/c1", "team/T%2F1%25x/c1"}},
		{"clear config", `{}`, nil},
		{"again", `{"config":{"installation_id":1.5e3}}`, []string{"installation_id/1.5e3/c1"}},
		{"delete", "", nil},
	}
	for _, s := range steps {
		if s.js == "" {
			if err := f.store.DeleteConnection(ctxT(t), "prod", "gh", "c1"); err != nil {
				t.Fatal(err)
			}
		} else {
			f.putConn("c1", s.js)
		}
		want := append([]string{"installation_id/7/other"}, s.want...)
		sort.Strings(want)
		if got := f.routeKeys(); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: route keys\n got %q\nwant %q", s.name, got, want)
		}
	}
}

func TestStoreConcurrentWritesKeepIndex(t *testing.T) {
	f := newFixture(t)
	f.seed()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 5 {
				js := fmt.Sprintf(`{"config":{"k%d":%d,"shared":"v%d"}}`, i, j, i)
				if _, err := f.store.PutConnection(ctxT(t), "prod", "gh", "c1", []byte(js)); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	c, err := f.store.GetConnection(ctxT(t), "prod", "gh", "c1")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, r := range routesOfAll(c.Config, nil, nil) {
		want = append(want, r.field+"/"+r.value+"/c1")
	}
	if got := f.routeKeys(); !reflect.DeepEqual(got, want) {
		t.Fatalf("route keys %q, want %q (from the final value)", got, want)
	}
}

func TestEscapeValue(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"abc-1001", "abc-1001"},
		{"a/b", "a%2Fb"},
		{"100%", "100%25"},
		{"x\ny\x7f", "x%0Ay%7F"},
		{"é", "é"},
	}
	for _, tt := range tests {
		if got := string(EscapeValue(nil, []byte(tt.in))); got != tt.want {
			t.Errorf("EscapeValue(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	dst := make([]byte, 0, 64)
	in := []byte("a/b%c")
	if n := testing.AllocsPerRun(100, func() { dst = EscapeValue(dst[:0], in) }); n != 0 {
		t.Fatalf("EscapeValue allocates %v times with room in dst", n)
	}
}

func TestRouteText(t *testing.T) {
	tests := []struct {
		raw  string
		want string
		ok   bool
	}{
		{`1001`, "1001", true},
		{`"1001"`, "1001", true},
		{` "a\u002fb" `, "a/b", true},
		{`true`, "true", true},
		{`-1.5e3`, "-1.5e3", true},
		{`null`, "", false},
		{`{"a":1}`, "", false},
		{`[1]`, "", false},
		{`tru`, "", false},
	}
	for _, tt := range tests {
		got, ok := RouteText([]byte(tt.raw))
		if ok != tt.ok || string(got) != tt.want {
			t.Errorf("RouteText(%s) = %q, %v; want %q, %v", tt.raw, got, ok, tt.want, tt.ok)
		}
	}
}
