// Package github is the GitHub provider: deliveries are signed with
// X-Hub-Signature-256 (hex HMAC-SHA256 of the raw body, "sha256=" prefix)
// and routed by installation.id to the connection config field
// installation_id. The event type is X-GitHub-Event and the delivery id
// X-GitHub-Delivery. JSON and form-encoded (payload=…) deliveries are both
// accepted.
package github

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/edgehook/edgehook/matchers"
	"github.com/edgehook/edgehook/plugins/provider"
)

// Field is the connection config field installation ids are matched with.
const Field = "installation_id"

var (
	signature = matchers.HMACConfig{
		Header:    "X-Hub-Signature-256",
		Algorithm: matchers.SHA256,
		Encoding:  matchers.Hex,
		Prefix:    "sha256=",
	}
	installationID = matchers.MustCompilePath("installation.id")
	formType       = []byte("application/x-www-form-urlencoded")

	errNotJSON   = &provider.Error{Status: 400, Code: "bad_request", Msg: "plugins/github: body is not valid JSON"}
	errNoPayload = &provider.Error{Status: 400, Code: "bad_request", Msg: "plugins/github: form body has no payload field"}
)

// Provider is the GitHub provider plugin.
type Provider struct{}

// ID returns "github".
func (Provider) ID() string { return "github" }

// Provision checks the integration has a webhook_secret and no options, and
// prepares the signature matcher for it and the previous secret.
func (Provider) Provision(cfg provider.Config) (provider.Instance, error) {
	if err := matchers.DecodeOptions(cfg.Options, &struct{}{}); err != nil {
		return nil, fmt.Errorf("plugins/github: %w", err)
	}
	if cfg.Secret == "" {
		return nil, errors.New("plugins/github: webhook_secret is required")
	}
	m, err := matchers.CompileHMAC(signature, []byte(cfg.Secret), []byte(cfg.PreviousSecret))
	if err != nil {
		return nil, fmt.Errorf("plugins/github: %w", err)
	}
	return &Instance{sig: m}, nil
}

// Instance is a provisioned GitHub integration.
type Instance struct {
	sig *matchers.HMAC
}

// Verify checks X-Hub-Signature-256 against the raw body with either
// secret. The legacy SHA-1 X-Hub-Signature alone is not accepted.
func (in *Instance) Verify(r *provider.Request) (bool, error) {
	return in.sig.Match(r)
}

// Route reports installation.id as the routing key (none when the event
// has no installation), the event type and the delivery id. For a
// form-encoded delivery the payload field's JSON is forwarded. A body that
// is not JSON is a 400.
func (in *Instance) Route(r *provider.Request, rt *provider.Routing) error {
	payload := r.Body()
	if bytes.HasPrefix(r.Req.Header.ContentType(), formType) {
		payload = r.Req.PostArgs().Peek("payload")
		if len(payload) == 0 {
			return errNoPayload
		}
		rt.Payload = payload
	}
	key, err := installationID.Key(payload, nil)
	if err != nil {
		return errNotJSON
	}
	rt.Field = Field
	if key != nil {
		rt.AddKey(key)
	}
	rt.EventType = nonEmpty(r.Header("X-GitHub-Event"))
	rt.EventID = nonEmpty(r.Header("X-GitHub-Delivery"))
	return nil
}

func nonEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// Interface guards.
var (
	_ provider.Provider = Provider{}
	_ provider.Instance = (*Instance)(nil)
)
