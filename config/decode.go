package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/edgehook/edgehook/delivery/sender"
	"github.com/edgehook/edgehook/provider"
)

// DefaultDedupeWindow is the duplicate-detection window of an integration
// that sets no dedupe_window.
const DefaultDedupeWindow = 24 * time.Hour

// invalidf returns a *ValidationError.
func invalidf(format string, args ...any) *ValidationError {
	return &ValidationError{Msg: fmt.Sprintf(format, args...)}
}

// decodeStrict decodes exactly one JSON object from raw into v, rejecting
// unknown fields and trailing data.
func decodeStrict(raw []byte, v any, what string) error {
	return decodeJSON(raw, v, what, '{')
}

// decodeStrictArray is decodeStrict for a JSON array of objects.
func decodeStrictArray(raw []byte, v any) error {
	return decodeJSON(raw, v, "integration: syncs", '[')
}

func decodeJSON(raw []byte, v any, what string, open byte) error {
	trimmed := bytes.TrimLeft(raw, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != open {
		return invalidf("config: %s: value must be a JSON %s", what, map[byte]string{'{': "object", '[': "array"}[open])
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalidf("config: %s: %v", what, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalidf("config: %s: unexpected data after the JSON value", what)
	}
	return nil
}

// checkHTTPURL validates an absolute http(s) URL that deliveries can be
// sent to (sender.DestKey: a host, a port in range, no credentials), so
// that a URL such as http://:80 is refused when written rather than
// failing every event later.
func checkHTTPURL(what, s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return invalidf("config: %s %q: want an absolute http or https URL", what, s)
	}
	if _, err := sender.DestKey(s); err != nil {
		return invalidf("config: %s: %v", what, err)
	}
	return nil
}

// isNull reports whether raw is absent or the JSON null.
func isNull(raw json.RawMessage) bool {
	return len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

// DecodeEnvironment decodes and validates a stored or submitted Environment.
// Failures are *ValidationError.
func DecodeEnvironment(raw []byte) (*Environment, error) {
	var e Environment
	if err := decodeStrict(raw, &e, "environment"); err != nil {
		return nil, err
	}
	if len(e.WebhookURLs) > 2 {
		return nil, invalidf("config: environment: at most 2 webhook_urls, got %d", len(e.WebhookURLs))
	}
	for _, u := range e.WebhookURLs {
		if err := checkHTTPURL("environment: webhook_urls", u); err != nil {
			return nil, err
		}
	}
	if err := sender.CheckSecret(e.WebhookSecret); err != nil {
		return nil, invalidf("config: environment: webhook_secret: %v", err)
	}
	switch e.Unmatched {
	case "":
		e.Unmatched = "forward"
	case "forward", "drop":
	default:
		return nil, invalidf("config: environment: unmatched %q: want \"forward\" or \"drop\"", e.Unmatched)
	}
	return &e, nil
}

// provisionEnv is the request-path form of e.
func provisionEnv(name string, e *Environment) *Env {
	return &Env{
		Name:          name,
		URLs:          e.WebhookURLs,
		Secret:        e.WebhookSecret,
		DropUnmatched: e.Unmatched == "drop",
	}
}

// DecodeIntegration decodes and validates a stored or submitted Integration
// (not its provider options: see ProvisionIntegration). Failures are
// *ValidationError.
func DecodeIntegration(raw []byte) (*Integration, error) {
	var in Integration
	if err := decodeStrict(raw, &in, "integration"); err != nil {
		return nil, err
	}
	if in.Provider == "" {
		return nil, invalidf("config: integration: provider is required")
	}
	if in.MaxBody < 0 {
		return nil, invalidf("config: integration: max_body must not be negative")
	}
	if _, err := dedupeWindow(in.DedupeWindow); err != nil {
		return nil, err
	}
	if isNull(in.Options) {
		in.Options = nil
	}
	if _, err := decodeSyncs(in.Syncs); err != nil {
		return nil, err
	}
	if isNull(in.Syncs) {
		in.Syncs = nil
	}
	return &in, nil
}

func dedupeWindow(s string) (time.Duration, error) {
	if s == "" {
		return DefaultDedupeWindow, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, invalidf("config: integration: dedupe_window %q: want a non-negative Go duration", s)
	}
	return d, nil
}

// ProvisionIntegration turns a decoded integration into its request-path
// form, provisioning the provider instance through prov. An unknown provider
// or options the provider rejects are a *ValidationError.
func ProvisionIntegration(env, name string, in *Integration, prov Provisioner) (*Integ, error) {
	inst, err := prov(in.Provider, provider.Config{
		Secret:         in.WebhookSecret,
		PreviousSecret: in.WebhookSecretPrevious,
		Options:        in.Options,
	})
	if err != nil {
		return nil, invalidf("config: integration: provider %q: %v", in.Provider, err)
	}
	syncs, err := decodeSyncs(in.Syncs)
	if err != nil {
		return nil, err
	}
	window, err := dedupeWindow(in.DedupeWindow)
	if err != nil {
		return nil, err
	}
	return &Integ{
		Env: env, Name: name, Provider: in.Provider, Instance: inst,
		MaxBody: in.MaxBody, DedupeWindow: window, Syncs: syncs,
	}, nil
}

// DecodeConnection decodes and validates a stored or submitted Connection
// whose path id is id. Failures are *ValidationError.
func DecodeConnection(raw []byte, id string) (*Connection, error) {
	var c Connection
	if err := decodeStrict(raw, &c, "connection"); err != nil {
		return nil, err
	}
	if c.ConnectionID != "" && c.ConnectionID != id {
		return nil, invalidf("config: connection: connection_id %q differs from the id %q in the path", c.ConnectionID, id)
	}
	if c.WebhookURLOverride != "" {
		if err := checkHTTPURL("connection: webhook_url_override", c.WebhookURLOverride); err != nil {
			return nil, err
		}
	}
	if c.Status != "" && c.Status != StatusDeleting {
		return nil, invalidf("config: connection: status %q: only %q is known", c.Status, StatusDeleting)
	}
	if _, err := routesOf(c.Config, nil, nil); err != nil {
		return nil, err
	}
	return &c, nil
}

// provisionConn is the request-path form of c.
func provisionConn(id string, c *Connection) *Conn {
	return &Conn{ID: id, URLOverride: c.WebhookURLOverride}
}
