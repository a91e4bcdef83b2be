// Package msgraph is the Microsoft Graph change-notifications provider.
// Graph signs nothing: each notification in the body's value[] carries the
// clientState given when the subscription was created, which must equal
// webhook_secret (compared in constant time). A subscription's validation
// request (?validationToken=…) is answered by the gateway with the token as
// text/plain. One POST may mix subscriptions: each notification is routed
// by its subscriptionId, and each connection is forwarded only its own.
package msgraph

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/buger/jsonparser"

	"github.com/edgehook/edgehook/matchers"
	"github.com/edgehook/edgehook/provider"
)

// Field is the connection config field subscription ids are matched with.
const Field = "subscriptionId"

// Provider is the Microsoft Graph provider plugin.
type Provider struct{}

// ID returns "msgraph".
func (Provider) ID() string { return "msgraph" }

// Provision requires webhook_secret (the subscriptions' clientState) and
// no options.
func (Provider) Provision(cfg provider.Config) (provider.Instance, error) {
	if err := matchers.DecodeOptions(cfg.Options, &struct{}{}); err != nil {
		return nil, fmt.Errorf("plugins/msgraph: %w", err)
	}
	s, err := matchers.NewSecrets([]byte(cfg.Secret), []byte(cfg.PreviousSecret))
	if err != nil {
		return nil, fmt.Errorf("plugins/msgraph: webhook_secret (the clientState): %w", err)
	}
	return &Instance{state: s}, nil
}

// Instance is a provisioned Microsoft Graph integration.
type Instance struct {
	state matchers.Secrets
}

// validationToken is the query argument of a validation request.
const validationToken = "validationToken"

var (
	textPlain  = "text/plain; charset=utf-8"
	nosniff    = [][2]string{{"X-Content-Type-Options", "nosniff"}}
	errNotJSON = provider.BadRequest(`plugins/msgraph: body is not a JSON object with a "value" array`)
)

// Handshake answers a subscription validation request: 200, text/plain,
// the URL-decoded validationToken as the body, byte for byte. It is
// unsigned by design (Graph sends no clientState with it).
func (in *Instance) Handshake(r *provider.Request, w *provider.Reply) (bool, error) {
	args := r.Req.URI().QueryArgs()
	if !args.Has(validationToken) {
		return false, nil
	}
	w.Status = 200
	w.ContentType = textPlain
	w.Header = nosniff
	w.Body = args.Peek(validationToken)
	return true, nil
}

// value returns the body's value array, and its start and end offsets.
func value(body []byte) (v []byte, start, end int, ok bool) {
	v, t, end, err := jsonparser.Get(body, "value")
	if err != nil || t != jsonparser.Array {
		return nil, 0, 0, false
	}
	return v, end - len(v), end, true
}

// Verify reports whether the body holds at least one notification and
// every one carries an accepted clientState.
func (in *Instance) Verify(r *provider.Request) (bool, error) {
	v, _, _, ok := value(r.Body())
	if !ok {
		return false, nil
	}
	n, bad := 0, false
	jsonparser.ArrayEach(v, func(item []byte, t jsonparser.ValueType, _ int, _ error) {
		n++
		if t != jsonparser.Object {
			bad = true
			return
		}
		cs, ct, _, err := jsonparser.Get(item, "clientState")
		if err != nil || ct != jsonparser.String || !in.state.Equal(cs) {
			bad = true
		}
	})
	return n > 0 && !bad, nil
}

var (
	subscriptionID = matchers.MustCompilePath("subscriptionId")
	changeType     = matchers.MustCompilePath("changeType")
	lifecycleEvent = matchers.MustCompilePath("lifecycleEvent")
)

// Route reports each distinct subscriptionId as a key. When the body holds
// more than one, each key gets its own part: the body with value[] cut down
// to that subscription's notifications (other fields kept as received).
// With one subscription the body is forwarded verbatim. The event type is
// the first notification's lifecycleEvent, else its changeType; Graph
// notifications carry no delivery id.
func (in *Instance) Route(r *provider.Request, rt *provider.Routing) error {
	body := r.Body()
	v, start, end, ok := value(body)
	if !ok || !jsonObject(body) {
		return errNotJSON
	}
	rt.Field = Field
	if first, _, _, err := jsonparser.Get(v, "[0]"); err == nil {
		if rt.EventType, ok = lifecycleEvent.Text(first, nil); !ok {
			rt.EventType, _ = changeType.Text(first, nil)
		}
	}
	matchers.SplitArray(rt, body, start, end, subscriptionID)
	return nil
}

// jsonObject reports whether body is one valid JSON object.
func jsonObject(body []byte) bool {
	return bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) && json.Valid(body)
}

// Interface guards.
var (
	_ provider.Provider   = Provider{}
	_ provider.Instance   = (*Instance)(nil)
	_ provider.Handshaker = (*Instance)(nil)
)
