// Package meta is the Meta provider (Facebook Pages, Messenger, Instagram,
// WhatsApp Cloud API): deliveries carry X-Hub-Signature-256:
// sha256=<hex HMAC-SHA256 of the raw body>, keyed with the app secret, and
// are routed by the id of each entry (entry.*.id: the Page, Instagram
// account or WhatsApp Business Account) to the connection config field
// entry_id. The event type is object; Meta sends no delivery id.
//
// Meta verifies a callback URL with a GET carrying hub.mode=subscribe,
// hub.challenge and hub.verify_token; the gateway answers it itself,
// echoing hub.challenge when hub.verify_token equals options.verify_token,
// and answering 403 otherwise.
package meta

import (
	"fmt"

	"github.com/edgehook/edgehook/matchers"
	"github.com/edgehook/edgehook/provider"
)

// Field is the connection config field entry ids are matched with.
const Field = "entry_id"

// Preset is Meta's signature scheme and routing.
var Preset = matchers.Preset{
	Name: "meta",
	Signature: matchers.HMACConfig{
		Header: "X-Hub-Signature-256",
		Prefix: "sha256=",
	},
	Route:     "entry.*.id",
	Field:     Field,
	EventType: matchers.FromJSON("object"),
}

// Options are the meta integration options.
type Options struct {
	// VerifyToken is the token set with the callback URL in the app
	// dashboard (not the app secret). Without it every verification GET is
	// refused.
	VerifyToken string `json:"verify_token"`
}

var forbidden = []byte(`{"error":{"code":"forbidden","message":"hub.verify_token does not match"}}`)

// Provider is the Meta provider plugin.
type Provider struct{}

// ID returns "meta".
func (Provider) ID() string { return Preset.Name }

// Provision decodes Options strictly and compiles the preset.
func (Provider) Provision(cfg provider.Config) (provider.Instance, error) {
	var o Options
	if err := matchers.DecodeOptions(cfg.Options, &o); err != nil {
		return nil, fmt.Errorf("plugins/meta: %w", err)
	}
	cfg.Options = nil
	in, err := Preset.Compile(cfg)
	if err != nil {
		return nil, err
	}
	inst := &Instance{PresetInstance: in}
	if o.VerifyToken != "" {
		if inst.verify, err = matchers.CompileToken(matchers.TokenConfig{Query: "hub.verify_token"}, []byte(o.VerifyToken), nil); err != nil {
			return nil, fmt.Errorf("plugins/meta: %w", err)
		}
	}
	return inst, nil
}

// Instance is a provisioned Meta integration.
type Instance struct {
	*matchers.PresetInstance
	verify *matchers.Token // hub.verify_token, nil without options.verify_token
}

// Handshake answers a verification GET (one with any hub.* argument): 200
// with hub.challenge as the body when hub.mode is subscribe and
// hub.verify_token matches (compared in constant time), else 403. A GET
// without hub.* arguments and every POST are left to Verify.
func (in *Instance) Handshake(r *provider.Request, w *provider.Reply) (bool, error) {
	if !r.Req.Header.IsGet() {
		return false, nil
	}
	mode, challenge := r.Query("hub.mode"), r.Query("hub.challenge")
	if len(mode) == 0 && len(challenge) == 0 && len(r.Query("hub.verify_token")) == 0 {
		return false, nil
	}
	ok := in.verify != nil && string(mode) == "subscribe" && len(challenge) > 0
	if ok {
		ok, _ = in.verify.Match(r)
	}
	if !ok {
		w.Status, w.ContentType, w.Body = 403, "application/json", forbidden
		return true, nil
	}
	w.Status, w.ContentType, w.Body = 200, "text/plain; charset=utf-8", append([]byte(nil), challenge...)
	return true, nil
}

// Interface guards.
var (
	_ provider.Provider   = Provider{}
	_ provider.Instance   = (*Instance)(nil)
	_ provider.Handshaker = (*Instance)(nil)
)
