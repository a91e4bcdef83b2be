// Package stripe is the Stripe provider: Stripe-Signature carries
// t=<unix seconds> and one or more v1=<hex HMAC-SHA256(t + "." + body)>
// entries (several during a secret roll; any may match; v0 is ignored),
// and t must be within 5 minutes of now. The endpoint secret (whsec_…) is
// the key as written, not decoded. Events are routed by the Connect
// account id (account) to the connection config field account_id; the
// event type is type and the dedupe key the event id.
//
// It is a preset of the shared HMAC mechanism: data, not code.
package stripe

import (
	"time"

	"github.com/edgehook/edgehook/matchers"
)

// Field is the connection config field Connect account ids are matched
// with.
const Field = "account_id"

// Tolerance is the replay window, the Stripe SDKs' default.
const Tolerance = 5 * time.Minute

// Provider is the Stripe provider plugin.
var Provider = matchers.Preset{
	Name: "stripe",
	Signature: matchers.HMACConfig{
		Header:       "Stripe-Signature",
		Algorithm:    matchers.SHA256,
		Encoding:     matchers.Hex,
		Prefix:       "v1=",
		Separator:    ',',
		TimestampKey: "t",
		Signed:       "{timestamp}.{body}",
		Tolerance:    Tolerance,
	},
	Key:       matchers.KeyRaw,
	Route:     "account",
	Field:     Field,
	EventType: matchers.FromJSON("type"),
	EventID:   matchers.FromJSON("id"),
}
