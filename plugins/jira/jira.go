// Package jira is the Jira Cloud provider for admin webhooks with a
// secret: X-Hub-Signature is "<method>=<hex HMAC(secret, raw body)>",
// where the method names the hash (sha256 today; sha512 is accepted too).
// Events are routed by the origin (scheme://host) of the first "self" URL
// in the body, in document order, to the connection config field baseUrl.
// The event type is webhookEvent and the dedupe key the
// X-Atlassian-Webhook-Identifier header.
package jira

import (
	"bytes"
	"encoding/json"

	"github.com/edgehook/edgehook/matchers"
	"github.com/edgehook/edgehook/provider"
)

// Field is the connection config field site origins are matched with.
const Field = "baseUrl"

// Header carries the signature.
const Header = "X-Hub-Signature"

// methods are the accepted signature methods, each a preset of the shared
// HMAC mechanism; the header's method picks one.
var methods = [...]matchers.Preset{
	{Name: "jira", Signature: matchers.HMACConfig{Header: Header, Algorithm: matchers.SHA256, Encoding: matchers.Hex, Prefix: "sha256="}},
	{Name: "jira", Signature: matchers.HMACConfig{Header: Header, Algorithm: matchers.SHA512, Encoding: matchers.Hex, Prefix: "sha512="}},
}

var (
	eventType  = matchers.FromJSON("webhookEvent")
	deliveryID = matchers.FromHeader("X-Atlassian-Webhook-Identifier")
	errNotJSON = provider.BadRequest("plugins/jira: body is not valid JSON")
)

// Provider is the Jira provider plugin.
type Provider struct{}

// ID returns "jira".
func (Provider) ID() string { return "jira" }

// Provision compiles a matcher per accepted method for webhook_secret and
// webhook_secret_previous.
func (Provider) Provision(cfg provider.Config) (provider.Instance, error) {
	in := &Instance{}
	for i, p := range methods {
		m, err := p.Compile(cfg)
		if err != nil {
			return nil, err
		}
		in.methods[i] = m
	}
	return in, nil
}

// Instance is a provisioned Jira integration.
type Instance struct {
	methods [len(methods)]*matchers.PresetInstance
}

// Verify checks the signature with the method the header names; an
// unknown method (sha1 included) fails.
func (in *Instance) Verify(r *provider.Request) (bool, error) {
	v := r.Header(Header)
	for i, p := range methods {
		if bytes.HasPrefix(v, []byte(p.Signature.Prefix)) {
			return in.methods[i].Verify(r)
		}
	}
	return false, nil
}

// Route reports the site origin as the routing key (none when the body
// has no self URL), the event type and the delivery id. The origin
// borrows from the body, unless the URL is written with JSON escapes.
func (in *Instance) Route(r *provider.Request, rt *provider.Routing) error {
	body := r.Body()
	if !json.Valid(body) {
		return errNotJSON
	}
	rt.Field = Field
	if self, ok := matchers.FirstString(body, "self", nil); ok {
		if o := Origin(self); o != nil {
			rt.AddKey(o)
		}
	}
	rt.EventType = eventType.Value(r, body)
	rt.EventID = deliveryID.Value(r, body)
	return nil
}

// Origin returns scheme://host[:port] of an absolute http or https URL,
// as written, or nil when u is not one (or has user information). The
// result borrows from u.
func Origin(u []byte) []byte {
	i := bytes.Index(u, []byte("://"))
	if i <= 0 {
		return nil
	}
	if !bytes.EqualFold(u[:i], []byte("https")) && !bytes.EqualFold(u[:i], []byte("http")) {
		return nil
	}
	end := i + 3
	for end < len(u) && u[end] != '/' && u[end] != '?' && u[end] != '#' {
		end++
	}
	host := u[i+3 : end]
	if len(host) == 0 || bytes.ContainsAny(host, "@ \\") {
		return nil
	}
	return u[:end]
}

// Interface guards.
var (
	_ provider.Provider = Provider{}
	_ provider.Instance = (*Instance)(nil)
)
