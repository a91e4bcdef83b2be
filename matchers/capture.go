package matchers

import (
	"fmt"

	"github.com/edgehook/edgehook/provider"
)

// CaptureOptions are the integration options of a provider whose signing
// secret arrives in an unsigned handshake (Asana's X-Hook-Secret, Notion's
// verification_token).
type CaptureOptions struct {
	// CaptureSecret arms an integration that has no webhook_secret yet: the
	// next handshake's secret is accepted, and the gateway stores it as the
	// integration's webhook_secret (provider.Reply.Secret). With a
	// webhook_secret it has no effect: handshakes are refused.
	CaptureSecret bool `json:"capture_secret"`
}

// CompileCapture provisions a capture provider: it decodes CaptureOptions
// strictly; with a webhook_secret it is Compile, and armed is false;
// without one, options.capture_secret must be set, and the instance is
// armed: it verifies no delivery until the secret is stored.
func (p Preset) CompileCapture(cfg provider.Config) (in *PresetInstance, armed bool, err error) {
	var o CaptureOptions
	if err := DecodeOptions(cfg.Options, &o); err != nil {
		return nil, false, fmt.Errorf("plugins/%s: %w", p.Name, err)
	}
	cfg.Options = nil
	if cfg.Secret != "" {
		in, err := p.Compile(cfg)
		return in, false, err
	}
	if !o.CaptureSecret || cfg.PreviousSecret != "" {
		return nil, false, fmt.Errorf("plugins/%s: webhook_secret is required, unless options.capture_secret takes it from the handshake", p.Name)
	}
	in = &PresetInstance{p: p}
	if in.route, err = compileRoute(p.RouteHeader, p.Route); err != nil {
		return nil, false, fmt.Errorf("plugins/%s: %w", p.Name, err)
	}
	return in, true, nil
}
