package matchers

import (
	"fmt"

	"github.com/edgehook/edgehook/provider"
)

// TokenPreset is a provider authenticated by a shared token that must
// equal webhook_secret (or webhook_secret_previous), routed by a JSON
// field: GitLab's X-Gitlab-Token is one. Like Preset it is data, not code;
// a plugin with a handshake embeds the *TokenInstance it compiles.
type TokenPreset struct {
	// Name is the provider id; it must equal the plugin folder.
	Name string
	// Token says where the token travels. Presence is not allowed.
	Token TokenConfig
	// Route, Field, EventType and EventID are as in Preset.
	Route     string
	Field     string
	EventType Source
	EventID   Source
}

// ID returns the preset's provider id.
func (p TokenPreset) ID() string { return p.Name }

// Provision checks the integration has a webhook_secret and no options.
func (p TokenPreset) Provision(cfg provider.Config) (provider.Instance, error) {
	return p.Compile(cfg)
}

// Compile is Provision with the concrete type, for plugins that embed the
// instance (and that decode options of their own before calling it with
// none).
func (p TokenPreset) Compile(cfg provider.Config) (*TokenInstance, error) {
	if err := DecodeOptions(cfg.Options, &struct{}{}); err != nil {
		return nil, fmt.Errorf("plugins/%s: %w", p.Name, err)
	}
	if cfg.Secret == "" {
		return nil, fmt.Errorf("plugins/%s: webhook_secret is required", p.Name)
	}
	if p.Token.Presence {
		return nil, fmt.Errorf("plugins/%s: a token preset compares with webhook_secret; presence tokens are not presets", p.Name)
	}
	t, err := CompileToken(p.Token, []byte(cfg.Secret), []byte(cfg.PreviousSecret))
	if err != nil {
		return nil, fmt.Errorf("plugins/%s: %w", p.Name, err)
	}
	// The routing half is a Preset's: same rules, one implementation.
	in := &TokenInstance{Token: t, routing: &PresetInstance{p: Preset{
		Name: p.Name, Route: p.Route, Field: p.Field, EventType: p.EventType, EventID: p.EventID,
	}}}
	if in.routing.route, err = compileRoute("", p.Route); err != nil {
		return nil, fmt.Errorf("plugins/%s: %w", p.Name, err)
	}
	return in, nil
}

// TokenInstance is a provisioned TokenPreset.
type TokenInstance struct {
	// Token is the compiled token matcher.
	Token   *Token
	routing *PresetInstance
}

// Verify checks the token against either secret, in constant time.
func (in *TokenInstance) Verify(r *provider.Request) (bool, error) { return in.Token.Match(r) }

// Route reports the routing value, event type and delivery id, exactly as
// a Preset does; a body that is not JSON is a 400.
func (in *TokenInstance) Route(r *provider.Request, rt *provider.Routing) error {
	return in.routing.Route(r, rt)
}

// Interface guards.
var (
	_ provider.Provider = TokenPreset{}
	_ provider.Instance = (*TokenInstance)(nil)
)
