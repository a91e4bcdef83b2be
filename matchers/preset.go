package matchers

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/edgehook/edgehook/provider"
)

// KeyForm is how an integration's webhook_secret becomes the HMAC key.
type KeyForm uint8

// Key forms.
const (
	// KeyRaw uses the secret's bytes as they are (most providers, and
	// Stripe, whose whsec_ secret is used whole).
	KeyRaw KeyForm = iota
	// KeyBase64 base64-decodes the secret (Airtable's macSecretBase64).
	KeyBase64
	// KeyWhsec base64-decodes the secret after an optional "whsec_" prefix
	// (Standard Webhooks, Svix).
	KeyWhsec
)

// Key returns the HMAC key secret stands for in form f.
func (f KeyForm) Key(secret string) ([]byte, error) {
	switch f {
	case KeyBase64, KeyWhsec:
		s := secret
		if f == KeyWhsec {
			s = strings.TrimPrefix(s, "whsec_")
		}
		k, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("secret is not valid base64: %w", err)
		}
		if len(k) == 0 {
			return nil, errors.New("secret decodes to an empty key")
		}
		return k, nil
	}
	return []byte(secret), nil
}

// Source says where a request value (an event type, a delivery id) is
// found: a header, or a dotted JSON path into the body. The zero Source
// finds nothing.
type Source struct {
	header string
	path   Path
}

// FromHeader is the value of the named request header.
func FromHeader(name string) Source { return Source{header: name} }

// FromJSON is the scalar at a dotted JSON path of the body (see
// CompilePath); it panics on an invalid path, for package-level presets.
func FromJSON(path string) Source { return Source{path: MustCompilePath(path)} }

// IsZero reports whether s finds nothing.
func (s Source) IsZero() bool { return s.header == "" && s.path.IsZero() }

// Value returns the value s names in r, whose forwarded JSON is payload,
// or nil when absent or empty. It is borrowed from the request (see
// Path.Text) and valid until the plugin method returns.
func (s Source) Value(r *provider.Request, payload []byte) []byte {
	var v []byte
	if s.header != "" {
		v = r.Header(s.header)
	} else if !s.path.IsZero() {
		v, _ = s.path.Text(payload, nil)
	}
	if len(v) == 0 {
		return nil
	}
	return v
}

// Preset is a provider that is "an HMAC signature with these parameters,
// routed by this JSON field": the data a provider folder declares instead of
// code. It implements provider.Provider; a plugin with a handshake or its
// own routing embeds the Instance it provisions.
type Preset struct {
	// Name is the provider id ("github"); it must equal the plugin folder.
	Name string
	// Signature is the HMAC scheme.
	Signature HMACConfig
	// Key is how webhook_secret (and webhook_secret_previous) become keys.
	Key KeyForm
	// Route is the dotted JSON path of the routing value, Field the
	// connection config field it is matched with. An empty Route routes
	// nothing: every event is unmatched. One "*" segment stands for every
	// element of the array there ("events.*.tenantId"): each distinct value
	// is a routing key (at most MaxRouteKeys), and each connection matched
	// gets the whole payload.
	Route string
	Field string
	// RouteHeader, instead of Route, names the request header holding the
	// routing value (Zendesk's X-Zendesk-Account-Id).
	RouteHeader string
	// EventType and EventID say where the provider's event type and
	// delivery id (the dedupe key) are.
	EventType Source
	EventID   Source
	// Form also accepts application/x-www-form-urlencoded bodies carrying
	// the JSON in the field "payload" (GitHub); the signature covers the raw
	// form, and the field's JSON is forwarded.
	Form bool
	// Numbered means the signatures are in the headers Signature.Header +
	// "1", "2", … up to Numbered (at most MaxNumbered), one per header, up to
	// the first absent one; any may match either secret (DocuSign's
	// X-DocuSign-Signature-1 … -N). Body signatures only: no timestamp, no
	// id.
	Numbered int
	// SecondaryHeader means webhook_secret signs Signature.Header only and
	// webhook_secret_previous signs this header only; either may match (Box's
	// BOX-SIGNATURE-PRIMARY and -SECONDARY, each with its own key).
	SecondaryHeader string
}

// ID returns the preset's provider id.
func (p Preset) ID() string { return p.Name }

// Provision checks the integration has a webhook_secret and no options,
// and compiles the signature matcher for it and the previous secret.
func (p Preset) Provision(cfg provider.Config) (provider.Instance, error) {
	return p.Compile(cfg)
}

// Compile is Provision with the concrete type, for plugins that embed the
// instance.
func (p Preset) Compile(cfg provider.Config) (*PresetInstance, error) {
	if err := DecodeOptions(cfg.Options, &struct{}{}); err != nil {
		return nil, fmt.Errorf("plugins/%s: %w", p.Name, err)
	}
	if cfg.Secret == "" {
		return nil, fmt.Errorf("plugins/%s: webhook_secret is required", p.Name)
	}
	secret, err := p.Key.Key(cfg.Secret)
	if err != nil {
		return nil, fmt.Errorf("plugins/%s: webhook_secret: %w", p.Name, err)
	}
	var previous []byte
	if cfg.PreviousSecret != "" {
		if previous, err = p.Key.Key(cfg.PreviousSecret); err != nil {
			return nil, fmt.Errorf("plugins/%s: webhook_secret_previous: %w", p.Name, err)
		}
	}
	in := &PresetInstance{p: p}
	if err := in.compileSignatures(secret, previous); err != nil {
		return nil, fmt.Errorf("plugins/%s: %w", p.Name, err)
	}
	if in.route, err = compileRoute(p.RouteHeader, p.Route); err != nil {
		return nil, fmt.Errorf("plugins/%s: %w", p.Name, err)
	}
	return in, nil
}

// PresetInstance is a provisioned Preset.
type PresetInstance struct {
	p     Preset
	route presetRoute
	// HMAC is the compiled signature matcher (of the primary header, with
	// SecondaryHeader).
	HMAC     *HMAC
	second   *HMAC    // SecondaryHeader's matcher, nil without a previous secret
	numbered []string // Numbered's header names
	armed    bool     // no secret yet, armed to capture one (CompileCapture)
}

var formType = []byte("application/x-www-form-urlencoded")

// Verify checks the signature with either secret.
func (in *PresetInstance) Verify(r *provider.Request) (bool, error) { return in.verify(r) }

// SignsURL reports whether the signature covers the URL.
func (in *PresetInstance) SignsURL() bool { return in.HMAC != nil && in.HMAC.SignsURL() }

// Route reports the routing value (none when absent), the event type and
// the delivery id. A body that is not JSON (or a form without a payload
// field, when forms are accepted) is a 400.
func (in *PresetInstance) Route(r *provider.Request, rt *provider.Routing) error {
	payload := r.Body()
	if in.p.Form && bytes.HasPrefix(r.Req.Header.ContentType(), formType) {
		payload = r.Req.PostArgs().Peek("payload")
		if len(payload) == 0 {
			return provider.BadRequest("plugins/" + in.p.Name + ": form body has no payload field")
		}
		rt.Payload = payload
	}
	if err := in.route.add(r, payload, rt); err != nil {
		return provider.BadRequest("plugins/" + in.p.Name + ": body is not valid JSON")
	}
	rt.Field = in.p.Field
	rt.EventType = in.p.EventType.Value(r, payload)
	rt.EventID = in.p.EventID.Value(r, payload)
	return nil
}

// Interface guards.
var (
	_ provider.Provider = Preset{}
	_ provider.Instance = (*PresetInstance)(nil)
)
