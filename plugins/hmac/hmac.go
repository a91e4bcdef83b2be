// Package hmac is the generic HMAC provider: any provider that signs with
// an HMAC over a template of the request, declared entirely in the
// integration's options (SPEC §4) instead of code. The options name the
// signature header, algorithm, encoding and prefix, the signed-content
// template over {body}, {timestamp}, {id}, {method} and {url}, the
// timestamp header and tolerance, the id and event type headers, and the
// route (a JSON path into the body and the connection config field it is
// matched with). They are decoded strictly and validated once, when the
// integration is written.
package hmac

import (
	"errors"
	"fmt"

	"github.com/edgehook/edgehook/matchers"
	"github.com/edgehook/edgehook/provider"
)

// Provider is the generic HMAC provider plugin.
type Provider struct{}

// ID returns "hmac".
func (Provider) ID() string { return "hmac" }

// Provision decodes and validates the options and compiles the matcher
// for webhook_secret (used as its bytes) and webhook_secret_previous.
// Options that would fail or silently weaken the check later are refused
// here: an unknown field, a template using {timestamp} without
// timestamp_header, a timestamp_header the template does not sign (a
// replayed signature would pass with any timestamp), a tolerance without
// timestamp_header, {id} without id_header, route_path without
// route_field, and unknown algorithms, encodings or placeholders.
func (Provider) Provision(cfg provider.Config) (provider.Instance, error) {
	if cfg.Secret == "" {
		return nil, errors.New("plugins/hmac: webhook_secret is required")
	}
	g, err := matchers.Compile(cfg.Options, []byte(cfg.Secret), []byte(cfg.PreviousSecret))
	if err != nil {
		return nil, fmt.Errorf("plugins/hmac: %w", err)
	}
	in := &Instance{g: g}
	if g.EventTypeHeader != "" {
		in.eventType = matchers.FromHeader(g.EventTypeHeader)
	}
	if g.IDHeader != "" {
		in.eventID = matchers.FromHeader(g.IDHeader)
	}
	return in, nil
}

// Instance is a provisioned generic HMAC integration.
type Instance struct {
	g         *matchers.Generic
	eventType matchers.Source
	eventID   matchers.Source
}

// Verify checks the signature with either secret, and the timestamp when
// the options name one.
func (in *Instance) Verify(r *provider.Request) (bool, error) { return in.g.HMAC.Match(r) }

// SignsURL reports whether the template signs {url}, so that the gateway
// passes the public URL.
func (in *Instance) SignsURL() bool { return in.g.HMAC.SignsURL() }

// Route reports the value at route_path (none when absent), the event
// type and the delivery id headers. The body must be JSON (400
// otherwise); it is forwarded verbatim.
func (in *Instance) Route(r *provider.Request, rt *provider.Routing) error {
	body := r.Body()
	key, err := in.g.Route.Key(body, nil)
	if err != nil {
		return provider.BadRequest("plugins/hmac: body is not valid JSON")
	}
	rt.Field = in.g.RouteField
	if key != nil {
		rt.AddKey(key)
	}
	rt.EventType = in.eventType.Value(r, body)
	rt.EventID = in.eventID.Value(r, body)
	return nil
}

// Interface guards.
var (
	_ provider.Provider  = Provider{}
	_ provider.Instance  = (*Instance)(nil)
	_ provider.URLSigner = (*Instance)(nil)
)
