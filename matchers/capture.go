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
// strictly; with a webhook_secret it is Compile; without one,
// options.capture_secret must be set, and the instance is armed (Armed): it
// verifies no delivery until the secret is stored.
func (p Preset) CompileCapture(cfg provider.Config) (*PresetInstance, error) {
	var o CaptureOptions
	if err := DecodeOptions(cfg.Options, &o); err != nil {
		return nil, fmt.Errorf("plugins/%s: %w", p.Name, err)
	}
	cfg.Options = nil
	if cfg.Secret != "" {
		return p.Compile(cfg)
	}
	if !o.CaptureSecret || cfg.PreviousSecret != "" {
		return nil, fmt.Errorf("plugins/%s: webhook_secret is required, unless options.capture_secret takes it from the handshake", p.Name)
	}
	in := &PresetInstance{p: p, armed: true}
	var err error
	if in.route, err = compileRoute(p.RouteHeader, p.Route); err != nil {
		return nil, fmt.Errorf("plugins/%s: %w", p.Name, err)
	}
	return in, nil
}

// Armed reports whether in was armed by CompileCapture: it has no secret
// yet and may accept one from a handshake.
func (in *PresetInstance) Armed() bool { return in.armed }
