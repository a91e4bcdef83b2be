// Package standardwebhooks is the generic Standard Webhooks provider, for
// any sender following https://www.standardwebhooks.com (Svix and the
// services built on it): webhook-signature is a space-separated list of
// "v1,<base64 HMAC-SHA256(id + "." + timestamp + "." + body)>" entries,
// keyed with the base64 secret after its "whsec_" prefix; any entry may
// match. webhook-timestamp (Unix seconds) must be within 5 minutes, and
// webhook-id is the dedupe key. Routing is configured: options.route_path
// (a dotted JSON path) → options.route_field. The event type is the
// body's type.
//
// The asymmetric scheme (v1a, Ed25519) is not implemented: its entries are
// ignored.
package standardwebhooks

import (
	"errors"
	"fmt"
	"time"

	"github.com/edgehook/edgehook/matchers"
	"github.com/edgehook/edgehook/provider"
)

// Tolerance is the replay window, the reference libraries' default.
const Tolerance = 5 * time.Minute

// preset is the scheme; Provision adds the configured route.
var preset = matchers.Preset{
	Name: "standardwebhooks",
	Signature: matchers.HMACConfig{
		Header:          "webhook-signature",
		Algorithm:       matchers.SHA256,
		Encoding:        matchers.Base64,
		Prefix:          "v1,",
		Separator:       ' ',
		Signed:          "{id}.{timestamp}.{body}",
		TimestampHeader: "webhook-timestamp",
		Tolerance:       Tolerance,
		IDHeader:        "webhook-id",
	},
	Key:       matchers.KeyWhsec,
	EventType: matchers.FromJSON("type"),
	EventID:   matchers.FromHeader("webhook-id"),
}

// Options are the integration options.
type Options struct {
	// RoutePath is the dotted JSON path of the routing value
	// ("data.organization_id"); empty routes nothing.
	RoutePath string `json:"route_path"`
	// RouteField is the connection config field the value is matched with.
	RouteField string `json:"route_field"`
}

// Provider is the Standard Webhooks provider plugin.
type Provider struct{}

// ID returns "standardwebhooks".
func (Provider) ID() string { return preset.Name }

// Provision decodes the options strictly, decodes the whsec_ secrets and
// compiles the matcher and the route.
func (Provider) Provision(cfg provider.Config) (provider.Instance, error) {
	var o Options
	if err := matchers.DecodeOptions(cfg.Options, &o); err != nil {
		return nil, fmt.Errorf("plugins/standardwebhooks: %w", err)
	}
	if (o.RoutePath == "") != (o.RouteField == "") {
		return nil, errors.New("plugins/standardwebhooks: options route_path and route_field go together")
	}
	p := preset
	p.Route, p.Field = o.RoutePath, o.RouteField
	cfg.Options = nil
	return p.Compile(cfg)
}

// Interface guard.
var _ provider.Provider = Provider{}
