package matchers

import (
	"strings"
	"testing"

	"github.com/edgehook/edgehook/provider"
)

func TestCompileCapture(t *testing.T) {
	p := Preset{Name: "cap", Signature: HMACConfig{Header: "X-Hook-Signature"}, Route: "a", Field: "a"}
	on := []byte(`{"capture_secret":true}`)
	tests := []struct {
		name  string
		cfg   provider.Config
		ok    bool
		armed bool
	}{
		{"secret", provider.Config{Secret: "s"}, true, false},
		{"secret, capture set", provider.Config{Secret: "s", Options: on}, true, false},
		{"armed", provider.Config{Options: on}, true, true},
		{"capture off", provider.Config{Options: []byte(`{"capture_secret":false}`)}, false, false},
		{"no secret, no options", provider.Config{}, false, false},
		{"armed with a previous secret", provider.Config{PreviousSecret: "p", Options: on}, false, false},
		{"unknown option", provider.Config{Options: []byte(`{"capture":true}`)}, false, false},
	}
	for _, tt := range tests {
		in, err := p.CompileCapture(tt.cfg)
		if (err == nil) != tt.ok || err == nil && in.Armed() != tt.armed {
			t.Errorf("%s: %v; want ok %v armed %v", tt.name, err, tt.ok, tt.armed)
			continue
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), "plugins/cap: ") {
				t.Errorf("%s: error %q lacks the package prefix", tt.name, err)
			}
			continue
		}
		r := newReq("POST", `{"a":"k"}`, unix1700, "X-Hook-Signature", sign("s", `{"a":"k"}`))
		if ok, err := in.Verify(r); ok != !tt.armed || err != nil || in.SignsURL() {
			t.Errorf("%s: Verify = %v, %v; want %v", tt.name, ok, err, !tt.armed)
		}
		var rt provider.Routing
		if err := in.Route(r, &rt); err != nil || len(rt.Keys) != 1 {
			t.Errorf("%s: Route = %v, %q", tt.name, err, rt.Keys)
		}
	}
}
