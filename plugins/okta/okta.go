// Package okta is the Okta event hooks provider. Okta signs nothing: it
// sends a static secret in a header the admin configures (by default
// Authorization), compared in constant time with webhook_secret. The
// one-time verification GET (X-Okta-Verification-Challenge) is answered by
// the gateway with {"verification":"…"}. Events are routed by the Okta
// org's host, taken from the body's source URL.
package okta

import (
	"bytes"
	"fmt"

	"github.com/edgehook/edgehook/internal/jsonx"
	"github.com/edgehook/edgehook/matchers"
	"github.com/edgehook/edgehook/provider"
)

// Field is the connection config field Okta org hosts are matched with.
const Field = "oktaDomain"

// ChallengeHeader carries the verification challenge.
const ChallengeHeader = "X-Okta-Verification-Challenge"

// options are the integration options.
type options struct {
	// Header is the authentication header set in the event hook; default
	// Authorization.
	Header string `json:"header"`
}

// Provider is the Okta provider plugin.
type Provider struct{}

// ID returns "okta".
func (Provider) ID() string { return "okta" }

// Provision decodes the options and compiles the token check.
func (Provider) Provision(cfg provider.Config) (provider.Instance, error) {
	o := options{Header: "Authorization"}
	if err := matchers.DecodeOptions(cfg.Options, &o); err != nil {
		return nil, fmt.Errorf("plugins/okta: %w", err)
	}
	if o.Header == "" {
		return nil, fmt.Errorf("plugins/okta: options.header must not be empty")
	}
	in, err := matchers.TokenPreset{
		Name:      "okta",
		Token:     matchers.TokenConfig{Header: o.Header},
		EventType: matchers.FromJSON("data.events.0.eventType"),
		EventID:   matchers.FromJSON("eventId"),
	}.Compile(provider.Config{Secret: cfg.Secret, PreviousSecret: cfg.PreviousSecret})
	if err != nil {
		return nil, err
	}
	return &Instance{TokenInstance: in}, nil
}

// Instance is a provisioned Okta integration.
type Instance struct {
	*matchers.TokenInstance
}

var source = matchers.MustCompilePath("source")

// Handshake answers Okta's verification request, a GET carrying
// X-Okta-Verification-Challenge: 200, application/json,
// {"verification":"<challenge>"}. The challenge is only echoed, so the
// request needs no credential.
func (in *Instance) Handshake(r *provider.Request, w *provider.Reply) (bool, error) {
	c := r.Header(ChallengeHeader)
	if !r.Req.Header.IsGet() || len(c) == 0 {
		return false, nil
	}
	b := append(make([]byte, 0, len(c)+20), `{"verification":`...)
	b = jsonx.AppendString(b, string(c))
	w.Status = 200
	w.ContentType = "application/json"
	w.Body = append(b, '}')
	return true, nil
}

// Route reports the host of the body's source URL
// ("https://dev-1.okta.com/api/v1/eventHooks/who…" → "dev-1.okta.com") as
// the key, the first event's eventType as the type, and eventId as the
// delivery id. A body that is not JSON is a 400.
func (in *Instance) Route(r *provider.Request, rt *provider.Routing) error {
	if err := in.TokenInstance.Route(r, rt); err != nil {
		return err
	}
	rt.Field = Field
	if u, ok := source.Text(r.Body(), nil); ok {
		if h := host(u); len(h) > 0 {
			rt.AddKey(h)
		}
	}
	return nil
}

// host returns the host (and port) of an absolute URL as written, borrowed
// from u, or nil.
func host(u []byte) []byte {
	i := bytes.Index(u, []byte("://"))
	if i <= 0 {
		return nil
	}
	h := u[i+3:]
	if j := bytes.IndexAny(h, "/?#"); j >= 0 {
		h = h[:j]
	}
	if k := bytes.LastIndexByte(h, '@'); k >= 0 {
		h = h[k+1:]
	}
	return h
}

// Interface guards.
var (
	_ provider.Provider   = Provider{}
	_ provider.Instance   = (*Instance)(nil)
	_ provider.Handshaker = (*Instance)(nil)
)
