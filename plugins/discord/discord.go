// Package discord is the Discord provider, for both interactions and
// webhook events. Every request is signed with Ed25519 over
// X-Signature-Timestamp + body (X-Signature-Ed25519, hex); the key is the
// application's public key, held in webhook_secret. Discord's PINGs are
// answered by the gateway after verification: an interactions PING
// ({"type":1}) with 200 {"type":1}, a webhook-events PING (type 0) with 204.
// Other interactions are acknowledged with a deferred interaction response,
// webhook events with 204. Routing is by application_id.
package discord

import (
	"crypto/ed25519"
	"fmt"

	"github.com/buger/jsonparser"

	"github.com/edgehook/edgehook/matchers"
	"github.com/edgehook/edgehook/provider"
)

// Field is the connection config field application ids are matched with.
const Field = "application_id"

// Headers Discord signs with.
const (
	SignatureHeader = "X-Signature-Ed25519"
	TimestampHeader = "X-Signature-Timestamp"
)

// options are the integration options.
type options struct {
	// Tolerance, a Go duration, turns on a replay window on the signed
	// timestamp; Discord documents none, so by default there is none.
	Tolerance string `json:"tolerance"`
}

// Provider is the Discord provider plugin.
type Provider struct{}

// ID returns "discord".
func (Provider) ID() string { return "discord" }

// Provision decodes the public key(s) and options and compiles the
// matcher.
func (Provider) Provision(cfg provider.Config) (provider.Instance, error) {
	var o options
	if err := matchers.DecodeOptions(cfg.Options, &o); err != nil {
		return nil, fmt.Errorf("plugins/discord: %w", err)
	}
	sc := matchers.SignedConfig{Header: SignatureHeader, Encoding: matchers.Hex,
		Signed: "{timestamp}{body}", TimestampHeader: TimestampHeader}
	if o.Tolerance != "" {
		d, err := matchers.PositiveDuration("tolerance", o.Tolerance)
		if err != nil {
			return nil, fmt.Errorf("plugins/discord: %w", err)
		}
		sc.Tolerance = d
	}
	if cfg.Secret == "" {
		return nil, fmt.Errorf("plugins/discord: webhook_secret (the application's public key) is required")
	}
	var keys []ed25519.PublicKey
	for _, s := range []string{cfg.Secret, cfg.PreviousSecret} {
		if s == "" {
			continue
		}
		k, err := matchers.ParseEd25519Key(s)
		if err != nil {
			return nil, fmt.Errorf("plugins/discord: webhook_secret: %w", err)
		}
		keys = append(keys, k)
	}
	m, err := matchers.CompileEd25519(sc, keys...)
	if err != nil {
		return nil, fmt.Errorf("plugins/discord: %w", err)
	}
	return &Instance{sig: m}, nil
}

// Instance is a provisioned Discord integration.
type Instance struct {
	sig *matchers.Ed25519
}

// kind is what a verified body is.
type kind uint8

const (
	notJSON kind = iota
	interactionPing
	interaction
	eventPing
	event
)

// classify reads the body's type: a webhook event has an "event" object or
// type 0 (its PING); anything else is an interaction.
func classify(body []byte) (kind, int64) {
	t, err := jsonparser.GetInt(body, "type")
	if err != nil {
		return notJSON, 0
	}
	_, _, _, evErr := jsonparser.Get(body, "event")
	switch {
	case t == 0:
		return eventPing, t
	case evErr == nil:
		return event, t
	case t == 1:
		return interactionPing, t
	}
	return interaction, t
}

var (
	pong         = []byte(`{"type":1}`)
	jsonType     = "application/json"
	deferMessage = []byte(`{"type":5}`)                       // DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
	deferUpdate  = []byte(`{"type":6}`)                       // DEFERRED_UPDATE_MESSAGE
	noChoices    = []byte(`{"type":8,"data":{"choices":[]}}`) // autocomplete
	errNotJSON   = provider.BadRequest("plugins/discord: body is not a JSON object with a numeric type")
)

// Handshake answers a correctly signed PING itself: an interactions PING
// with 200 {"type":1}, a webhook-events PING with 204 and no body. A PING
// with a bad signature, and everything else, goes on to Verify.
func (in *Instance) Handshake(r *provider.Request, w *provider.Reply) (bool, error) {
	k, _ := classify(r.Body())
	if k != interactionPing && k != eventPing {
		return false, nil
	}
	if ok, err := in.sig.Match(r); !ok || err != nil {
		return false, err
	}
	w.ContentType = jsonType
	if k == eventPing {
		w.Status = 204
		return true, nil
	}
	w.Status = 200
	w.Body = pong
	return true, nil
}

// Verify checks the Ed25519 signature with either public key.
func (in *Instance) Verify(r *provider.Request) (bool, error) { return in.sig.Match(r) }

// interactionTypes names the interaction types, the event type of an
// interaction.
var interactionTypes = map[int64][]byte{
	1: []byte("PING"),
	2: []byte("APPLICATION_COMMAND"),
	3: []byte("MESSAGE_COMPONENT"),
	4: []byte("APPLICATION_COMMAND_AUTOCOMPLETE"),
	5: []byte("MODAL_SUBMIT"),
}

var (
	appID     = matchers.MustCompilePath("application_id")
	eventType = matchers.MustCompilePath("event.type")
	id        = matchers.MustCompilePath("id")
)

// Route reports application_id as the key. The event type is event.type
// for a webhook event and the interaction type's name for an interaction,
// whose id is the delivery id (webhook events carry none).
func (in *Instance) Route(r *provider.Request, rt *provider.Routing) error {
	body := r.Body()
	k, t := classify(body)
	key, err := appID.Key(body, nil)
	if k == notJSON || err != nil {
		return errNotJSON
	}
	rt.Field = Field
	if key != nil {
		rt.AddKey(key)
	}
	switch k {
	case event, eventPing:
		rt.EventType, _ = eventType.Text(body, nil)
	default:
		rt.EventType = interactionTypes[t]
		if v, ok := id.Text(body, nil); ok && len(v) > 0 {
			rt.EventID = v
		}
	}
	return nil
}

// Ack answers a spooled webhook event with 204, and an interaction with
// the deferred response Discord needs within 3 s (the app then follows up
// with the interaction token): a "thinking…" message for commands and modal
// submits, a deferred update for components, no choices for autocomplete.
func (in *Instance) Ack(r *provider.Request, w *provider.Reply) {
	k, t := classify(r.Body())
	w.ContentType = jsonType
	switch {
	case k == event || k == eventPing:
		w.Status = 204
	case t == 3:
		w.Body = deferUpdate
	case t == 4:
		w.Body = noChoices
	default:
		w.Body = deferMessage
	}
}

// Interface guards.
var (
	_ provider.Provider   = Provider{}
	_ provider.Instance   = (*Instance)(nil)
	_ provider.Handshaker = (*Instance)(nil)
	_ provider.Acker      = (*Instance)(nil)
)
