// Package zoom is the Zoom provider: deliveries carry x-zm-signature:
// v0=<hex HMAC-SHA256 of "v0:" + x-zm-request-timestamp + ":" + body>,
// keyed with the app's secret token and accepted within 5 minutes, and are
// routed by payload.account_id to the connection config field account_id.
// The event type is event; Zoom sends no delivery id.
//
// Zoom validates an endpoint with a signed endpoint.url_validation event;
// the gateway answers it itself with {"plainToken","encryptedToken"}, the
// latter the hex HMAC-SHA256 of plainToken with the secret token, and never
// forwards it.
package zoom

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"

	"github.com/edgehook/edgehook/internal/jsonx"
	"github.com/edgehook/edgehook/matchers"
	"github.com/edgehook/edgehook/provider"
)

// Field is the connection config field account ids are matched with.
const Field = "account_id"

// Preset is Zoom's signature scheme and routing.
var Preset = matchers.Preset{
	Name: "zoom",
	Signature: matchers.HMACConfig{
		Header:          "x-zm-signature",
		Prefix:          "v0=",
		Signed:          "v0:{timestamp}:{body}",
		TimestampHeader: "x-zm-request-timestamp",
	},
	Route:     "payload.account_id",
	Field:     Field,
	EventType: matchers.FromJSON("event"),
}

var (
	eventPath      = matchers.MustCompilePath("event")
	plainTokenPath = matchers.MustCompilePath("payload.plainToken")
	urlValidation  = []byte("endpoint.url_validation")
)

// Provider is the Zoom provider plugin.
type Provider struct{}

// ID returns "zoom".
func (Provider) ID() string { return Preset.Name }

// Provision compiles the preset and keeps the secret token for the
// validation reply.
func (Provider) Provision(cfg provider.Config) (provider.Instance, error) {
	in, err := Preset.Compile(cfg)
	if err != nil {
		return nil, err
	}
	return &Instance{PresetInstance: in, key: []byte(cfg.Secret)}, nil
}

// Instance is a provisioned Zoom integration.
type Instance struct {
	*matchers.PresetInstance
	key []byte // webhook_secret: the secret token
}

// Handshake answers a correctly signed endpoint.url_validation event. An
// ordinary event, or a validation that does not verify, is left to Verify.
// A signed validation without a plainToken is a 400.
func (in *Instance) Handshake(r *provider.Request, w *provider.Reply) (bool, error) {
	if ev, _ := eventPath.Text(r.Body(), nil); !bytes.Equal(ev, urlValidation) {
		return false, nil
	}
	if ok, err := in.Verify(r); !ok || err != nil {
		return false, err
	}
	token, _ := plainTokenPath.Text(r.Body(), nil)
	if len(token) == 0 {
		return false, provider.BadRequest("plugins/zoom: endpoint.url_validation without payload.plainToken")
	}
	m := hmac.New(sha256.New, in.key)
	m.Write(token)
	body := append([]byte(`{"plainToken":`), jsonx.AppendString(nil, string(token))...)
	body = append(body, `,"encryptedToken":"`...)
	body = hex.AppendEncode(body, m.Sum(nil))
	w.Status = 200
	w.ContentType = "application/json"
	w.Body = append(body, `"}`...)
	return true, nil
}

// Interface guards.
var (
	_ provider.Provider   = Provider{}
	_ provider.Instance   = (*Instance)(nil)
	_ provider.Handshaker = (*Instance)(nil)
)
