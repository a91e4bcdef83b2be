// Package slack is the Slack provider: X-Slack-Signature is
// "v0=" + hex HMAC-SHA256(signing secret, "v0:" + timestamp + ":" + raw
// body), with X-Slack-Request-Timestamp (Unix seconds) within 5 minutes.
//
// Three kinds of body arrive. Events API deliveries are JSON, routed by
// team_id (or team.id) to the connection config field team_id, typed by
// event.type and deduplicated by event_id; their url_verification
// handshake is verified, then answered by the gateway itself with the
// challenge. Interactivity deliveries are forms with one payload field
// whose JSON is forwarded as it is, routed by team.id. Slash commands are
// other forms, forwarded as a JSON object of their fields (as strings),
// routed by team_id. Forms are acknowledged with an empty 200, since Slack
// shows a reply body to the user.
package slack

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/buger/jsonparser"

	"github.com/edgehook/edgehook/matchers"
	"github.com/edgehook/edgehook/provider"
)

// Field is the connection config field team ids are matched with.
const Field = "team_id"

// Tolerance is the replay window on X-Slack-Request-Timestamp.
const Tolerance = 5 * time.Minute

// preset is the signature scheme; routing, the handshake and the ack are
// the plugin's own.
var preset = matchers.Preset{
	Name: "slack",
	Signature: matchers.HMACConfig{
		Header:          "X-Slack-Signature",
		Algorithm:       matchers.SHA256,
		Encoding:        matchers.Hex,
		Prefix:          "v0=",
		Signed:          "v0:{timestamp}:{body}",
		TimestampHeader: "X-Slack-Request-Timestamp",
		Tolerance:       Tolerance,
	},
}

var (
	formType     = []byte("application/x-www-form-urlencoded")
	verification = []byte("url_verification")

	teamID    = matchers.MustCompilePath("team_id")
	teamDotID = matchers.MustCompilePath("team.id")
	eventType = matchers.FromJSON("event.type")
	eventID   = matchers.FromJSON("event_id")
	// payloadType is an interactivity payload's type (block_actions, …).
	payloadType = matchers.FromJSON("type")

	errNotJSON      = provider.BadRequest("plugins/slack: body is not valid JSON")
	errPayload      = provider.BadRequest("plugins/slack: form payload field is not valid JSON")
	errNoChallenge  = provider.BadRequest("plugins/slack: url_verification without a challenge")
	challengePrefix = []byte(`{"challenge":"`)
	challengeSuffix = []byte(`"}`)
)

// Provider is the Slack provider plugin.
type Provider struct{}

// ID returns "slack".
func (Provider) ID() string { return preset.Name }

// Provision compiles the signature matcher for the signing secret
// (webhook_secret) and webhook_secret_previous.
func (Provider) Provision(cfg provider.Config) (provider.Instance, error) {
	in, err := preset.Compile(cfg)
	if err != nil {
		return nil, err
	}
	return &Instance{PresetInstance: in}, nil
}

// Instance is a provisioned Slack integration; Verify is the preset's.
type Instance struct {
	*matchers.PresetInstance
}

// isForm reports whether r carries a form body.
func isForm(r *provider.Request) bool { return bytes.HasPrefix(r.Req.Header.ContentType(), formType) }

// Handshake answers a url_verification request once its signature is
// verified: 200, application/json, {"challenge":"<challenge>"} with the
// challenge copied as received. An unsigned or badly signed one is not
// handled, so Verify refuses it. A form with ssl_check=1 (Slack checking
// the certificate of a slash command URL) is answered with an empty 200
// without being verified: it carries no event, and nothing is spooled.
func (in *Instance) Handshake(r *provider.Request, w *provider.Reply) (bool, error) {
	if isForm(r) {
		if string(r.Req.PostArgs().Peek("ssl_check")) != "1" {
			return false, nil
		}
		w.Status = 200
		return true, nil
	}
	body := r.Body()
	if !bytes.Contains(body, verification) {
		return false, nil
	}
	if t, err := jsonparser.GetUnsafeString(body, "type"); err != nil || t != "url_verification" || !json.Valid(body) {
		return false, nil
	}
	if ok, err := in.Verify(r); !ok || err != nil {
		return false, err
	}
	c, typ, _, err := jsonparser.Get(body, "challenge")
	if err != nil || typ != jsonparser.String || len(c) == 0 {
		return false, errNoChallenge
	}
	w.Status = 200
	w.ContentType = "application/json"
	w.Body = append(append(append(make([]byte, 0, len(challengePrefix)+len(c)+len(challengeSuffix)), challengePrefix...), c...), challengeSuffix...)
	return true, nil
}

// Route reports the team id as the routing key, with the event type and
// id of Events API deliveries. For forms it sets the forwarded payload:
// the payload field's JSON (interactivity), or the fields as a JSON object
// written into rt.Scratch (slash commands).
func (in *Instance) Route(r *provider.Request, rt *provider.Routing) error {
	rt.Field = Field
	if isForm(r) {
		return routeForm(r, rt)
	}
	body := r.Body()
	key, err := teamID.Key(body, nil)
	if err != nil {
		return errNotJSON
	}
	if key == nil {
		key, _ = teamDotID.Text(body, nil)
	}
	if len(key) > 0 {
		rt.AddKey(key)
	}
	rt.EventType = eventType.Value(r, body)
	rt.EventID = eventID.Value(r, body)
	return nil
}

// routeForm routes an interactivity payload or a slash command.
func routeForm(r *provider.Request, rt *provider.Routing) error {
	args := r.Req.PostArgs()
	if args.Has("payload") {
		payload := args.Peek("payload")
		if !json.Valid(payload) {
			return errPayload
		}
		rt.Payload = payload
		key, _ := teamDotID.Text(payload, nil)
		if len(key) == 0 {
			key, _ = teamID.Text(payload, nil)
		}
		if len(key) > 0 {
			rt.AddKey(key)
		}
		rt.EventType = payloadType.Value(r, payload)
		return nil
	}
	start := len(rt.Scratch)
	rt.Scratch = matchers.AppendFormObject(rt.Scratch, args)
	rt.Payload = rt.Scratch[start:]
	if key := args.Peek("team_id"); len(key) > 0 {
		rt.AddKey(key)
	}
	if c := args.Peek("command"); len(c) > 0 {
		rt.EventType = c
	}
	return nil
}

// Ack answers a form delivery with an empty 200 (a body would be shown to
// the user); Events API deliveries keep the default reply.
func (in *Instance) Ack(r *provider.Request, w *provider.Reply) {
	if isForm(r) {
		w.Status = 200
	}
}

// Interface guards.
var (
	_ provider.Provider   = Provider{}
	_ provider.Instance   = (*Instance)(nil)
	_ provider.Handshaker = (*Instance)(nil)
	_ provider.Acker      = (*Instance)(nil)
)
