// Package sendgrid is the SendGrid (Twilio SendGrid) signed Event Webhook
// provider. X-Twilio-Email-Event-Webhook-Signature is a base64 DER ECDSA
// P-256/SHA-256 signature over X-Twilio-Email-Event-Webhook-Timestamp +
// raw body (its trailing CRLF included); the key is the webhook's
// verification key, base64 DER SubjectPublicKeyInfo, held in
// webhook_secret. The body is a JSON array of events; the options may name
// a per-event routing field, and a batch spanning connections is split so
// that each gets the array of its own events.
package sendgrid

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/buger/jsonparser"

	"github.com/edgehook/edgehook/matchers"
	"github.com/edgehook/edgehook/provider"
)

// Headers SendGrid signs with.
const (
	SignatureHeader = "X-Twilio-Email-Event-Webhook-Signature"
	TimestampHeader = "X-Twilio-Email-Event-Webhook-Timestamp"
)

// options are the integration options.
type options struct {
	Tolerance  string `json:"tolerance"`   // Go duration; none by default
	RoutePath  string `json:"route_path"`  // dotted path inside each event
	RouteField string `json:"route_field"` // connection config field
}

// Provider is the SendGrid provider plugin.
type Provider struct{}

// ID returns "sendgrid".
func (Provider) ID() string { return "sendgrid" }

// Provision decodes the verification key(s) and options.
func (Provider) Provision(cfg provider.Config) (provider.Instance, error) {
	var o options
	if err := matchers.DecodeOptions(cfg.Options, &o); err != nil {
		return nil, fmt.Errorf("plugins/sendgrid: %w", err)
	}
	sc := matchers.SignedConfig{Header: SignatureHeader, Encoding: matchers.Base64,
		Signed: "{timestamp}{body}", TimestampHeader: TimestampHeader}
	if o.Tolerance != "" {
		d, err := matchers.PositiveDuration("tolerance", o.Tolerance)
		if err != nil {
			return nil, fmt.Errorf("plugins/sendgrid: %w", err)
		}
		sc.Tolerance = d
	}
	route, err := matchers.CompileRoute(o.RoutePath, o.RouteField)
	if err != nil {
		return nil, fmt.Errorf("plugins/sendgrid: %w", err)
	}
	if cfg.Secret == "" {
		return nil, errors.New("plugins/sendgrid: webhook_secret (the verification key) is required")
	}
	var keys []*ecdsa.PublicKey
	for _, s := range []string{cfg.Secret, cfg.PreviousSecret} {
		if s == "" {
			continue
		}
		k, err := matchers.ParseECDSAKey(s)
		if err != nil {
			return nil, fmt.Errorf("plugins/sendgrid: webhook_secret: %w", err)
		}
		keys = append(keys, k)
	}
	m, err := matchers.CompileECDSA(sc, keys...)
	if err != nil {
		return nil, fmt.Errorf("plugins/sendgrid: %w", err)
	}
	return &Instance{sig: m, route: route, field: o.RouteField}, nil
}

// Instance is a provisioned SendGrid integration.
type Instance struct {
	sig   *matchers.ECDSA
	route matchers.Path
	field string
}

// Verify checks the ECDSA signature with either verification key.
func (in *Instance) Verify(r *provider.Request) (bool, error) { return in.sig.Match(r) }

var (
	errNotArray = provider.BadRequest("plugins/sendgrid: body is not a JSON array of events")
	sgEventID   = matchers.MustCompilePath("sg_event_id")
	eventName   = matchers.MustCompilePath("event")
)

// Route reads the array of events. With routing options, each event's
// value routes it (a batch spanning connections is split per connection);
// without, the batch is unmatched. The event type is the first event's
// "event". The dedupe key is the sg_event_id of a one-event batch, else
// "batch:" + the hex SHA-256 of the events' sg_event_ids in order, so that
// a retried batch is recognised without merging distinct batches.
func (in *Instance) Route(r *provider.Request, rt *provider.Routing) error {
	body := r.Body()
	start := len(body) - len(bytes.TrimLeft(body, " \t\r\n"))
	end := len(bytes.TrimRight(body, " \t\r\n"))
	if start >= end || body[start] != '[' || !json.Valid(body) {
		return errNotArray
	}
	rt.Field = in.field
	if !in.route.IsZero() {
		matchers.SplitArray(rt, body, start, end, in.route)
	}
	arr := body[start:end]
	if first, _, _, err := jsonparser.Get(arr, "[0]"); err == nil {
		if v, ok := eventName.Text(first, nil); ok && len(v) > 0 {
			rt.EventType = v
		}
	}
	rt.EventID = in.dedupeKey(rt, arr)
	return nil
}

// dedupeKey derives the batch's delivery id (see Route), nil when an event
// lacks sg_event_id.
func (in *Instance) dedupeKey(rt *provider.Routing, arr []byte) []byte {
	var one []byte
	n, missing := 0, false
	h := sha256.New()
	jsonparser.ArrayEach(arr, func(item []byte, _ jsonparser.ValueType, _ int, _ error) {
		id, ok := sgEventID.Text(item, nil)
		if !ok || len(id) == 0 {
			missing = true
			return
		}
		one = id
		h.Write(id)
		h.Write([]byte{'\n'})
		n++
	})
	switch {
	case missing || n == 0:
		return nil
	case n == 1:
		return one
	}
	var sum [sha256.Size]byte
	from := len(rt.Scratch)
	rt.Scratch = append(rt.Scratch, "batch:"...)
	rt.Scratch = hex.AppendEncode(rt.Scratch, h.Sum(sum[:0]))
	return rt.Scratch[from:len(rt.Scratch):len(rt.Scratch)]
}

// Interface guards.
var (
	_ provider.Provider = Provider{}
	_ provider.Instance = (*Instance)(nil)
)
