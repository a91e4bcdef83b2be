// Package provider defines what a provider plugin is: the contract between
// the gateway and the packages under plugins/. A plugin turns an
// integration's configuration into an Instance once, when the configuration
// arrives from etcd; the gateway then calls the Instance on the hot path for
// every request.
//
// Optional capabilities (handshakes, custom acknowledgements, connection
// lifecycle hooks) are separate interfaces an Instance may also implement,
// found by type assertion, as Caddy does for its modules.
package provider

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/valyala/fasthttp"
)

// Provider is one built-in provider plugin. It is stateless; everything it
// needs for an integration is prepared by Provision.
type Provider interface {
	// ID is the provider's identifier as written in an integration's
	// "provider" field ("github", "streak").
	ID() string
	// Provision decodes cfg strictly (unknown option fields are an error),
	// precomputes keys and validates. It runs off the hot path, once per
	// configuration change.
	Provision(cfg Config) (Instance, error)
}

// Config is the provider-relevant part of an integration's configuration.
type Config struct {
	Secret         string          // webhook_secret
	PreviousSecret string          // webhook_secret_previous, during rotation
	Options        json.RawMessage // integration "options", nil when absent
}

// Instance is a provisioned integration. Its methods run on the request hot
// path: they must not allocate where avoidable, must not retain anything
// from the Request after returning, and must be safe for concurrent use.
type Instance interface {
	// Verify reports whether r is authentic. A missing, malformed or wrong
	// signature, or a stale timestamp, is (false, nil); err is reserved for
	// something broken.
	Verify(r *Request) (ok bool, err error)
	// Route extracts what is needed to find the event's connections, its
	// delivery id and type. It returns an *Error with status 400 when the
	// body cannot be parsed where routing needs it.
	Route(r *Request, rt *Routing) error
}

// Request is one incoming provider request as a plugin sees it. Everything
// reachable from it is borrowed from fasthttp and valid only until the
// plugin method returns.
type Request struct {
	Req *fasthttp.Request
	// Now is the time the request was received (replay windows compare to it).
	Now time.Time
	// URL is the public URL the provider called (scheme://host/path?query),
	// for signatures that cover it. Filled only for instances implementing
	// URLSigner.
	URL []byte
}

// Header returns the value of the named request header, or nil. The slice is
// valid until the plugin method returns.
func (r *Request) Header(name string) []byte { return r.Req.Header.Peek(name) }

// Body returns the raw request body. It is valid until the plugin method
// returns and must not be modified.
func (r *Request) Body() []byte { return r.Req.Body() }

// Query returns the value of the named URL query argument, or nil.
func (r *Request) Query(name string) []byte { return r.Req.URI().QueryArgs().Peek(name) }

// Routing is what Route reports about one request. The gateway keeps one per
// in-flight request in a pool and calls Reset before reuse; the byte slices
// may borrow from the Request.
type Routing struct {
	// Field is the connection config field the Keys are compared with
	// ("installation_id", "streakWebhookToken"). Empty with ByID.
	Field string
	// ByID means Keys are connection ids, not config values.
	ByID bool
	// Keys are the routing values, as text ("1001" for the JSON number 1001).
	// Several keys mean the event belongs to several connections.
	Keys [][]byte
	// Parts, when not empty, has one payload per key (same index as Keys):
	// the subset of a batch that belongs to that key (HubSpot). When empty,
	// every connection gets Payload.
	Parts [][]byte
	// Payload is the JSON forwarded as "payload"; nil means the raw body.
	Payload []byte
	// EventID is the provider's delivery id, used to drop duplicates; nil
	// when the provider has none.
	EventID []byte
	// EventType is the provider's event type ("push", "BOX_CREATE"), nil if
	// unknown.
	EventType []byte
	// Scratch is a buffer Route may append bytes it derives to (a form body
	// written as JSON, the parts of a batch, a derived event id), so that
	// Payload, Parts and EventID can point into it without allocating per
	// request. Append only: a slice taken earlier stays valid when a later
	// append moves the buffer. The gateway keeps it with the pooled
	// Routing, so it is valid as long as the other fields.
	Scratch []byte
}

// maxScratch is the largest Scratch buffer Reset keeps for reuse.
const maxScratch = 1 << 20

// Reset clears rt for reuse, keeping its backing arrays (Scratch's unless
// it grew past 1 MiB).
func (rt *Routing) Reset() {
	rt.Field = ""
	rt.ByID = false
	rt.Keys = rt.Keys[:0]
	rt.Parts = rt.Parts[:0]
	rt.Payload = nil
	rt.EventID = nil
	rt.EventType = nil
	rt.Scratch = rt.Scratch[:0]
	if cap(rt.Scratch) > maxScratch {
		rt.Scratch = nil
	}
}

// AddKey appends a routing key, without its own payload part.
func (rt *Routing) AddKey(k []byte) { rt.Keys = append(rt.Keys, k) }

// AddPart appends a routing key with the payload part that belongs to it
// (see Parts). A Route that adds parts adds one with every key.
func (rt *Routing) AddPart(k, part []byte) {
	rt.Keys = append(rt.Keys, k)
	rt.Parts = append(rt.Parts, part)
}

// Reply is what a Handshaker or Acker writes back to the provider. A zero
// Status means 200. Body may borrow from the Request or be shared: the
// gateway copies it into the response and never modifies it.
type Reply struct {
	Status      int
	ContentType string
	Body        []byte
	Header      [][2]string
	// Secret, set by a Handshaker, is a signing secret the provider
	// delivered in the handshake itself (Asana's X-Hook-Secret, Notion's
	// verification_token). The gateway stores it durably as the
	// integration's webhook_secret, and only if the integration has none,
	// before it writes the reply; when it cannot, it answers an error
	// instead, so the provider does not take the handshake as done. A
	// Handshaker sets it only when the operator armed the integration for
	// it, since such handshakes are not signed.
	Secret []byte
}

// IsZero reports whether nothing was written to w.
func (w *Reply) IsZero() bool {
	return w.Status == 0 && w.ContentType == "" && w.Body == nil && w.Header == nil
}

// Handshaker is implemented by instances whose provider sends requests the
// gateway must answer itself and never forward (Slack url_verification,
// Meta hub.challenge). Handshake runs before Verify; a handshake that is
// signed verifies itself. handled=false lets the request continue.
type Handshaker interface {
	Handshake(r *Request, w *Reply) (handled bool, err error)
}

// Acker is implemented by instances whose provider needs a particular
// acknowledgement body (Salesforce SOAP Ack, empty body for Slack forms)
// instead of the default JSON. Ack runs once the event is spooled, for a
// duplicate too. An Ack that leaves w zero (see Reply.IsZero) keeps the
// default JSON reply for that request; an empty 200 is Status 200 with no
// Body.
type Acker interface {
	Ack(r *Request, w *Reply)
}

// URLSigner is implemented by instances whose signature may cover the URL
// the provider called (HubSpot v3, Square). The gateway fills Request.URL
// only for those whose SignsURL reports true.
type URLSigner interface {
	SignsURL() bool
}

// Describer is implemented by providers that name connection config fields
// holding credentials (the Streak token), which the admin API masks.
type Describer interface {
	SecretConfigFields() []string
}

// Error is a request-path error carrying the HTTP status to answer.
type Error struct {
	Status int
	Code   string
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

// BadRequest returns an *Error with status 400 and code "bad_request".
func BadRequest(msg string) *Error { return &Error{Status: 400, Code: "bad_request", Msg: msg} }

// ErrUnknownProvider is returned when an integration names no built-in
// provider.
var ErrUnknownProvider = errors.New("unknown provider")
