// Package mailgun is the Mailgun provider. Mailgun puts the signature in
// the JSON body: signature.signature (or signature.parent-signature, for a
// subaccount's events signed with the parent account's key) is the hex
// HMAC-SHA256, keyed with the HTTP webhook signing key, of
// signature.timestamp + signature.token. A timestamp more than the
// tolerance (default 15 min) from the receive time is rejected, and
// event-data.id is the dedupe key. Routing is by a JSON path the options
// name, typically a custom variable of event-data.user-variables.
package mailgun

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/edgehook/edgehook/matchers"
	"github.com/edgehook/edgehook/provider"
)

// DefaultTolerance is the replay window on signature.timestamp.
const DefaultTolerance = 15 * time.Minute

// options are the integration options.
type options struct {
	Tolerance  string `json:"tolerance"`   // Go duration
	RoutePath  string `json:"route_path"`  // dotted JSON path of the routing value
	RouteField string `json:"route_field"` // connection config field it is matched with
}

// Provider is the Mailgun provider plugin.
type Provider struct{}

// ID returns "mailgun".
func (Provider) ID() string { return "mailgun" }

// Provision decodes the options and compiles the matcher for the signing
// key(s).
func (Provider) Provision(cfg provider.Config) (provider.Instance, error) {
	var o options
	if err := matchers.DecodeOptions(cfg.Options, &o); err != nil {
		return nil, fmt.Errorf("plugins/mailgun: %w", err)
	}
	sig := matchers.BodyHMACConfig{
		Signatures: []string{"signature.signature", "signature.parent-signature"},
		Signed:     []string{"signature.timestamp", "signature.token"},
		Timestamp:  "signature.timestamp",
		Tolerance:  DefaultTolerance,
	}
	if o.Tolerance != "" {
		d, err := matchers.PositiveDuration("tolerance", o.Tolerance)
		if err != nil {
			return nil, fmt.Errorf("plugins/mailgun: %w", err)
		}
		sig.Tolerance = d
	}
	route, err := matchers.CompileRoute(o.RoutePath, o.RouteField)
	if err != nil {
		return nil, fmt.Errorf("plugins/mailgun: %w", err)
	}
	if cfg.Secret == "" {
		return nil, errors.New("plugins/mailgun: webhook_secret (the HTTP webhook signing key) is required")
	}
	m, err := matchers.CompileBodyHMAC(sig, []byte(cfg.Secret), []byte(cfg.PreviousSecret))
	if err != nil {
		return nil, fmt.Errorf("plugins/mailgun: %w", err)
	}
	return &Instance{sig: m, route: route, field: o.RouteField}, nil
}

// Instance is a provisioned Mailgun integration.
type Instance struct {
	sig   *matchers.BodyHMAC
	route matchers.Path
	field string
}

// Verify checks the body's signature and its timestamp.
func (in *Instance) Verify(r *provider.Request) (bool, error) { return in.sig.Match(r) }

var (
	eventType  = matchers.MustCompilePath("event-data.event")
	eventID    = matchers.MustCompilePath("event-data.id")
	errNotJSON = provider.BadRequest("plugins/mailgun: body is not valid JSON")
)

// Route reports the configured routing value (none without options), the
// event type event-data.event and the delivery id event-data.id.
func (in *Instance) Route(r *provider.Request, rt *provider.Routing) error {
	body := r.Body()
	if !json.Valid(body) {
		return errNotJSON
	}
	rt.Field = in.field
	if !in.route.IsZero() {
		if k, ok := in.route.Text(body, nil); ok && len(k) > 0 {
			rt.AddKey(k)
		}
	}
	if v, ok := eventType.Text(body, nil); ok && len(v) > 0 {
		rt.EventType = v
	}
	if v, ok := eventID.Text(body, nil); ok && len(v) > 0 {
		rt.EventID = v
	}
	return nil
}

// Interface guards.
var (
	_ provider.Provider = Provider{}
	_ provider.Instance = (*Instance)(nil)
)
