package matchers

import (
	"encoding/json"
	"testing"

	"github.com/edgehook/edgehook/provider"
)

func TestTokenPreset(t *testing.T) {
	p := TokenPreset{Name: "x", Token: TokenConfig{Header: "X-Token"}, Route: "org.id", Field: "org_id",
		EventType: FromHeader("X-Event"), EventID: FromJSON("id")}
	in, err := p.Compile(provider.Config{Secret: "s", PreviousSecret: "p"})
	if err != nil {
		t.Fatal(err)
	}
	r := newReq("POST", `{"id":"e1","org":{"id":7}}`, unix1700, "X-Token", "p", "X-Event", "created")
	if ok, err := in.Verify(r); !ok || err != nil {
		t.Fatalf("Verify = %v, %v", ok, err)
	}
	var rt provider.Routing
	if err := in.Route(r, &rt); err != nil || rt.Field != "org_id" || len(rt.Keys) != 1 || string(rt.Keys[0]) != "7" ||
		string(rt.EventType) != "created" || string(rt.EventID) != "e1" {
		t.Fatalf("Route = %v %q %q %q %q", err, rt.Field, rt.Keys, rt.EventType, rt.EventID)
	}
	for name, c := range map[string]struct {
		p   TokenPreset
		cfg provider.Config
	}{
		"no secret": {p, provider.Config{}},
		"options":   {p, provider.Config{Secret: "s", Options: json.RawMessage(`{"a":1}`)}},
		"presence":  {TokenPreset{Name: "x", Token: TokenConfig{Header: "h", Presence: true}}, provider.Config{Secret: "s"}},
		"bad route": {TokenPreset{Name: "x", Token: TokenConfig{Header: "h"}, Route: "a..b"}, provider.Config{Secret: "s"}},
		"no header": {TokenPreset{Name: "x"}, provider.Config{Secret: "s"}},
	} {
		if _, err := c.p.Compile(c.cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
