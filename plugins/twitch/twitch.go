// Package twitch is the Twitch EventSub (webhook transport) provider:
// messages carry Twitch-Eventsub-Message-Signature: sha256=<hex HMAC-SHA256
// of message id + timestamp + body>, keyed with the subscription's secret,
// the timestamp (RFC 3339, nanoseconds) within 10 minutes. They are routed
// by subscription.condition.broadcaster_user_id to the connection config
// field broadcaster_user_id. The event type is the subscription type and
// the delivery id the message id.
//
// A webhook_callback_verification message is answered by the gateway
// itself, once it verifies: 200 text/plain with the challenge, never
// forwarded.
package twitch

import (
	"time"

	"github.com/edgehook/edgehook/matchers"
	"github.com/edgehook/edgehook/provider"
)

// Field is the connection config field broadcaster ids are matched with.
const Field = "broadcaster_user_id"

// Preset is Twitch's signature scheme and routing.
var Preset = matchers.Preset{
	Name: "twitch",
	Signature: matchers.HMACConfig{
		Header:          "Twitch-Eventsub-Message-Signature",
		Prefix:          "sha256=",
		Signed:          "{id}{timestamp}{body}",
		IDHeader:        "Twitch-Eventsub-Message-Id",
		TimestampHeader: "Twitch-Eventsub-Message-Timestamp",
		TimestampFormat: matchers.RFC3339,
		Tolerance:       10 * time.Minute,
	},
	Route:     "subscription.condition.broadcaster_user_id",
	Field:     Field,
	EventType: matchers.FromHeader("Twitch-Eventsub-Subscription-Type"),
	EventID:   matchers.FromHeader("Twitch-Eventsub-Message-Id"),
}

const typeHeader = "Twitch-Eventsub-Message-Type"

var challengePath = matchers.MustCompilePath("challenge")

// Provider is the Twitch provider plugin.
var Provider = matchers.WithHandshake{Preset: Preset, Handshake: handshake}

// handshake answers a webhook_callback_verification message that verifies
// with its challenge; one that does not verify is left to Verify (401), and
// a verified one without a challenge is a 400.
func handshake(in *matchers.PresetInstance, r *provider.Request, w *provider.Reply) (bool, error) {
	if string(r.Header(typeHeader)) != "webhook_callback_verification" {
		return false, nil
	}
	if ok, err := in.Verify(r); !ok || err != nil {
		return false, err
	}
	challenge, _ := challengePath.Text(r.Body(), nil)
	if len(challenge) == 0 {
		return false, provider.BadRequest("plugins/twitch: webhook_callback_verification without a challenge")
	}
	w.Status, w.ContentType, w.Body = 200, "text/plain; charset=utf-8", append([]byte(nil), challenge...)
	return true, nil
}
