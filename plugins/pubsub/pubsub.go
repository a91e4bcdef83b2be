// Package pubsub is the Google Cloud Pub/Sub push provider. Pub/Sub signs
// nothing in the body; a push subscription with authentication sends
// "Authorization: Bearer <OIDC ID token>", an RS256 JWT signed by Google.
// The token's signature (keys from Google's JWKS, fetched and refreshed in
// the background), issuer, audience, expiry and service-account email are
// checked. Messages are routed by subscription (or a message attribute)
// and deduplicated by message.messageId.
package pubsub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/buger/jsonparser"

	"github.com/edgehook/edgehook/matchers"
	"github.com/edgehook/edgehook/provider"
)

// Field is the default connection config field: the full subscription
// name ("projects/p/subscriptions/s").
const Field = "subscription"

// GoogleIssuers are the issuers of Google ID tokens.
var GoogleIssuers = []string{"https://accounts.google.com", "accounts.google.com"}

// firstFetchWait bounds how long Provision waits for a key set's first
// fetch; later provisions and requests never wait.
const firstFetchWait = 2 * time.Second

// options are the integration options.
type options struct {
	Audience           string   `json:"audience"`        // required: the subscription's audience
	ServiceAccount     string   `json:"service_account"` // required: the push auth service account
	JWKSURL            string   `json:"jwks_url"`        // default Google's
	Issuers            []string `json:"issuers"`         // default GoogleIssuers
	Skew               string   `json:"skew"`            // Go duration, default 30s
	RouteAttribute     string   `json:"route_attribute"` // route by this message attribute
	RouteField         string   `json:"route_field"`     // connection config field
	EventTypeAttribute string   `json:"event_type_attribute"`
}

// Provider is the Pub/Sub push provider plugin.
type Provider struct{}

// ID returns "pubsub".
func (Provider) ID() string { return "pubsub" }

// Provision decodes the options, opens the (shared) key set and compiles
// the token check. webhook_secret is not used and is refused.
func (Provider) Provision(cfg provider.Config) (provider.Instance, error) {
	var o options
	if err := matchers.DecodeOptions(cfg.Options, &o); err != nil {
		return nil, fmt.Errorf("plugins/pubsub: %w", err)
	}
	if cfg.Secret != "" || cfg.PreviousSecret != "" {
		return nil, errors.New("plugins/pubsub: webhook_secret is not used: push requests carry a Google-signed token; set options.audience and options.service_account")
	}
	if o.Audience == "" || o.ServiceAccount == "" {
		return nil, errors.New("plugins/pubsub: options.audience and options.service_account are required")
	}
	if o.JWKSURL == "" {
		o.JWKSURL = matchers.GoogleJWKSURL
	}
	if o.Issuers == nil {
		o.Issuers = GoogleIssuers
	}
	oc := matchers.OIDCConfig{Issuers: o.Issuers, Audience: o.Audience, Email: o.ServiceAccount, EmailVerified: true}
	if o.Skew != "" {
		d, err := time.ParseDuration(o.Skew)
		if err != nil || d <= 0 || d > 5*time.Minute {
			return nil, fmt.Errorf("plugins/pubsub: skew %q is not a duration in (0, 5m]", o.Skew)
		}
		oc.Skew = d
	}
	in := &Instance{field: Field, route: []string{"subscription"}}
	if o.RouteAttribute != "" {
		in.route = []string{"message", "attributes", o.RouteAttribute}
		in.field = o.RouteAttribute
	}
	if o.RouteField != "" {
		in.field = o.RouteField
	}
	if o.EventTypeAttribute != "" {
		in.eventType = []string{"message", "attributes", o.EventTypeAttribute}
	}
	keys, err := matchers.OpenJWKS(matchers.JWKSConfig{URL: o.JWKSURL})
	if err != nil {
		return nil, fmt.Errorf("plugins/pubsub: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), firstFetchWait)
	keys.Wait(ctx) // a slow first fetch is not an error: requests fail until it lands
	cancel()
	if in.oidc, err = matchers.CompileOIDC(oc, keys); err != nil {
		return nil, fmt.Errorf("plugins/pubsub: %w", err)
	}
	in.keys = keys
	return in, nil
}

// Instance is a provisioned Pub/Sub integration.
type Instance struct {
	oidc      *matchers.OIDC
	keys      *matchers.JWKS // kept reachable: the refresher lives while an instance does
	route     []string
	field     string
	eventType []string
}

// Verify checks the bearer token.
func (in *Instance) Verify(r *provider.Request) (bool, error) { return in.oidc.Match(r) }

var (
	errNotPush = provider.BadRequest(`plugins/pubsub: body is not a push message ({"message":{…},"subscription":…})`)
	messageID  = [...][]string{{"message", "messageId"}, {"message", "message_id"}}
)

// Route reports the subscription (or the configured attribute) as the key,
// message.messageId as the delivery id, and the configured attribute as the
// event type. The envelope is forwarded verbatim.
func (in *Instance) Route(r *provider.Request, rt *provider.Routing) error {
	body := r.Body()
	if !bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) || !json.Valid(body) {
		return errNotPush
	}
	if _, t, _, err := jsonparser.Get(body, "message"); err != nil || t != jsonparser.Object {
		return errNotPush
	}
	rt.Field = in.field
	if k := text(body, in.route); k != nil {
		rt.AddKey(k)
	}
	for _, p := range messageID {
		if v := text(body, p); v != nil {
			rt.EventID = v
			break
		}
	}
	if in.eventType != nil {
		rt.EventType = text(body, in.eventType)
	}
	return nil
}

// text returns the non-empty string or number at path, or nil; a string
// with escapes is unescaped into a new slice.
func text(body []byte, path []string) []byte {
	v, t, _, err := jsonparser.Get(body, path...)
	if err != nil || len(v) == 0 {
		return nil
	}
	switch t {
	case jsonparser.Number:
		return v
	case jsonparser.String:
		if bytes.IndexByte(v, '\\') < 0 {
			return v
		}
		if u, err := jsonparser.Unescape(v, nil); err == nil && len(u) > 0 {
			return u
		}
	}
	return nil
}

// Interface guards.
var (
	_ provider.Provider = Provider{}
	_ provider.Instance = (*Instance)(nil)
)
