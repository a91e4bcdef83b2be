// Package streak is the Streak provider. Streak signs nothing: the token
// given when the webhook was registered comes back in
// X-Streak-Webhook-Token, and that token is the credential. Verify only
// requires it to be present; authenticity is established by the gateway
// finding a connection whose config field streakWebhookToken holds it (an
// unknown token is acknowledged and handled by the unmatched policy).
// Bodies are JSON, often an array of events, forwarded verbatim.
//
// With a pipeline_key or team_key option the integration has lifecycle
// hooks (hooks.go, SPEC §9): creating a connection registers its webhooks
// with Streak and stores the token, deleting it unregisters them.
package streak

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/edgehook/edgehook/matchers"
	"github.com/edgehook/edgehook/provider"
)

// Field is the connection config field the token is matched with.
const Field = "streakWebhookToken"

// Header carries the webhook token.
const Header = "X-Streak-Webhook-Token"

var (
	token      = matchers.TokenConfig{Header: Header, Presence: true}
	errNotJSON = &provider.Error{Status: 400, Code: "bad_request", Msg: "plugins/streak: body is not valid JSON"}
)

// Provider is the Streak provider plugin.
type Provider struct{}

// ID returns "streak".
func (Provider) ID() string { return "streak" }

// SecretConfigFields names the connection config field holding the token,
// which the admin API masks.
func (Provider) SecretConfigFields() []string { return []string{Field} }

// Provision accepts an integration without webhook_secret (the token in
// each connection is the credential); a secret is refused rather than
// silently ignored. Options are those of the lifecycle hooks.
func (Provider) Provision(cfg provider.Config) (provider.Instance, error) {
	reg, err := compileHooks(cfg.Options)
	if err != nil {
		return nil, fmt.Errorf("plugins/streak: %w", err)
	}
	if cfg.Secret != "" || cfg.PreviousSecret != "" {
		return nil, errors.New("plugins/streak: webhook_secret is not used: the " + Header + " token of each connection is the credential")
	}
	m, err := matchers.CompileToken(token, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("plugins/streak: %w", err)
	}
	return &Instance{token: m, reg: reg}, nil
}

// Instance is a provisioned Streak integration.
type Instance struct {
	token *matchers.Token
	reg   *registration // nil without lifecycle hooks
}

// Verify reports whether the request carries a non-empty token.
func (in *Instance) Verify(r *provider.Request) (bool, error) {
	return in.token.Match(r)
}

// Route reports the token as the routing key. The body must be JSON; it is
// forwarded verbatim, arrays included.
func (in *Instance) Route(r *provider.Request, rt *provider.Routing) error {
	if !json.Valid(r.Body()) {
		return errNotJSON
	}
	rt.Field = Field
	if k := in.token.Value(r); k != nil {
		rt.AddKey(k)
	}
	return nil
}

// Interface guards.
var (
	_ provider.Provider  = Provider{}
	_ provider.Describer = Provider{}
	_ provider.Instance  = (*Instance)(nil)
	_ provider.Lifecycle = (*Instance)(nil)
)
