package matchers

import (
	"testing"
)

func TestToken(t *testing.T) {
	shared, err := CompileToken(TokenConfig{Header: "X-Edgehook-Token", Query: "token"}, []byte("s3cret"), []byte("old"))
	if err != nil {
		t.Fatal(err)
	}
	presence, err := CompileToken(TokenConfig{Header: "X-Streak-Webhook-Token", Presence: true}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	bearer, err := CompileToken(TokenConfig{Header: "Authorization", Prefix: "Bearer "}, []byte("s3cret"), nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		m     *Token
		query string
		hdr   []string
		want  bool
	}{
		{"header", shared, "", []string{"X-Edgehook-Token", "s3cret"}, true},
		{"previous", shared, "", []string{"X-Edgehook-Token", "old"}, true},
		{"query", shared, "token=s3cret", nil, true},
		{"header wins", shared, "token=s3cret", []string{"X-Edgehook-Token", "nope"}, false},
		{"wrong", shared, "", []string{"X-Edgehook-Token", "s3cre"}, false},
		{"longer", shared, "", []string{"X-Edgehook-Token", "s3cret2"}, false},
		{"missing", shared, "", nil, false},
		{"empty", shared, "token=", []string{"X-Edgehook-Token", ""}, false},
		{"presence any", presence, "", []string{"X-Streak-Webhook-Token", "anything"}, true},
		{"presence missing", presence, "", nil, false},
		{"presence empty", presence, "", []string{"X-Streak-Webhook-Token", ""}, false},
		{"bearer", bearer, "", []string{"Authorization", "Bearer s3cret"}, true},
		{"bearer no prefix", bearer, "", []string{"Authorization", "s3cret"}, false},
		{"bearer prefix only", bearer, "", []string{"Authorization", "Bearer "}, false},
	}
	for _, tt := range tests {
		r := newReq("POST", "{}", unix1700, tt.hdr...)
		if tt.query != "" {
			r.Req.SetRequestURI("/webhook/e/i?" + tt.query)
		}
		if ok, err := tt.m.Match(r); ok != tt.want || err != nil {
			t.Errorf("%s: Match = %v, %v; want %v", tt.name, ok, err, tt.want)
		}
	}
}

func TestCompileTokenErrors(t *testing.T) {
	if _, err := CompileToken(TokenConfig{}, []byte("s"), nil); err == nil {
		t.Error("no header or query accepted")
	}
	if _, err := CompileToken(TokenConfig{Header: "h"}, nil, nil); err == nil {
		t.Error("missing secret accepted")
	}
	if _, err := CompileToken(TokenConfig{Header: "h", Presence: true}, []byte("s"), nil); err == nil {
		t.Error("presence token with a secret accepted")
	}
}

func TestTokenAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	m, err := CompileToken(TokenConfig{Header: "X-Edgehook-Token", Query: "token"}, []byte("s3cret"), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := newReq("POST", "{}", unix1700)
	r.Req.SetRequestURI("/webhook/e/i?token=s3cret")
	if a := testing.AllocsPerRun(100, func() {
		if ok, _ := m.Match(r); !ok {
			t.Fatal("no match")
		}
	}); a != 0 {
		t.Errorf("Match allocates %v times per run; want 0", a)
	}
}
