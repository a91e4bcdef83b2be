// Package twilio is the Twilio provider. X-Twilio-Signature is the base64
// HMAC-SHA1, keyed with the account's auth token, of the URL Twilio called
// followed by the POST parameters sorted by name (name + value each). A
// JSON body is signed through the URL instead: Twilio adds the query
// parameter bodySHA256 (hex SHA-256 of the body). As Twilio's SDKs do, the
// URL is tried with and without its port. The gateway fills in the public
// URL (--public-url, else X-Forwarded-Proto/Host). Form bodies are
// forwarded as a JSON object of their parameters; routing is by AccountSid.
package twilio

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/edgehook/edgehook/matchers"
	"github.com/edgehook/edgehook/provider"
)

// Field is the connection config field account SIDs are matched with.
const Field = "account_sid"

// Headers Twilio sends.
const (
	SignatureHeader   = "X-Twilio-Signature"
	IdempotencyHeader = "I-Twilio-Idempotency-Token"
)

var signature = matchers.URLParamsConfig{
	Header:        SignatureHeader,
	Algorithm:     matchers.SHA1,
	Encoding:      matchers.Base64,
	BodyHashParam: "bodySHA256",
}

// Provider is the Twilio provider plugin.
type Provider struct{}

// ID returns "twilio".
func (Provider) ID() string { return "twilio" }

// Provision requires webhook_secret (the auth token) and no options.
func (Provider) Provision(cfg provider.Config) (provider.Instance, error) {
	if err := matchers.DecodeOptions(cfg.Options, &struct{}{}); err != nil {
		return nil, fmt.Errorf("plugins/twilio: %w", err)
	}
	if cfg.Secret == "" {
		return nil, fmt.Errorf("plugins/twilio: webhook_secret (the auth token) is required")
	}
	m, err := matchers.CompileURLParams(signature, []byte(cfg.Secret), []byte(cfg.PreviousSecret))
	if err != nil {
		return nil, fmt.Errorf("plugins/twilio: %w", err)
	}
	return &Instance{sig: m}, nil
}

// Instance is a provisioned Twilio integration.
type Instance struct {
	sig *matchers.URLParams
}

// SignsURL reports true: the gateway must fill in Request.URL.
func (in *Instance) SignsURL() bool { return true }

// Verify checks X-Twilio-Signature over the URL and parameters.
func (in *Instance) Verify(r *provider.Request) (bool, error) { return in.sig.Match(r) }

var (
	formType   = []byte("application/x-www-form-urlencoded")
	errNotJSON = provider.BadRequest("plugins/twilio: body is neither a form nor JSON")
	jsonSID    = [...]matchers.Path{matchers.MustCompilePath("AccountSid"), matchers.MustCompilePath("account_sid")}
	jsonType   = matchers.MustCompilePath("type")
	jsonID     = matchers.MustCompilePath("id")
)

// typeParams are the parameters that name a form delivery's event type, in
// order of preference.
var typeParams = [...]string{"EventType", "MessageStatus", "SmsStatus", "CallStatus"}

// Route reports AccountSid as the key and the idempotency token as the
// delivery id. A form POST (or a GET, from its query) is forwarded as a
// JSON object of its parameters, its event type the first of EventType,
// MessageStatus, SmsStatus and CallStatus. A JSON body is forwarded
// verbatim, keyed by AccountSid or account_sid, typed by type.
func (in *Instance) Route(r *provider.Request, rt *provider.Routing) error {
	rt.Field = Field
	if v := r.Header(IdempotencyHeader); len(v) > 0 {
		rt.EventID = v
	}
	h := &r.Req.Header
	if h.IsGet() || h.IsPost() && bytes.HasPrefix(h.ContentType(), formType) {
		args := r.Req.URI().QueryArgs()
		if h.IsPost() {
			args = r.Req.PostArgs()
		}
		start := len(rt.Scratch)
		rt.Scratch = matchers.AppendFormObject(rt.Scratch, args)
		rt.Payload = rt.Scratch[start:]
		if k := args.Peek("AccountSid"); len(k) > 0 {
			rt.AddKey(k)
		}
		for _, p := range typeParams {
			if v := args.Peek(p); len(v) > 0 {
				rt.EventType = v
				break
			}
		}
		return nil
	}
	body := r.Body()
	if !json.Valid(body) {
		return errNotJSON
	}
	for _, p := range jsonSID {
		if k, ok := p.Text(body, nil); ok && len(k) > 0 {
			rt.AddKey(k)
			break
		}
	}
	if v, ok := jsonType.Text(body, nil); ok && len(v) > 0 {
		rt.EventType = v
	}
	if rt.EventID == nil {
		if v, ok := jsonID.Text(body, nil); ok && len(v) > 0 {
			rt.EventID = v
		}
	}
	return nil
}

// Interface guards.
var (
	_ provider.Provider  = Provider{}
	_ provider.Instance  = (*Instance)(nil)
	_ provider.URLSigner = (*Instance)(nil)
)
