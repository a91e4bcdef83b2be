// Package hubspot is the HubSpot provider for app webhooks. Requests are
// signed with v3, X-HubSpot-Signature-v3 = base64 HMAC-SHA256(client
// secret, method + URI + body + X-HubSpot-Request-Timestamp), the
// timestamp in Unix milliseconds within 5 minutes and the URI the public
// URL HubSpot called with some escapes decoded (see DecodeURI). Requests
// without v3 may carry v1, X-HubSpot-Signature = hex SHA-256(client secret
// + body), a plain digest, not an HMAC.
//
// The body is a JSON array of events. Each event's portalId is matched
// with the connection config field portalId; when a batch spans several
// portals, each portal's connections get the array of its own events,
// their bytes copied as received. The event type is subscriptionType.
package hubspot

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/edgehook/edgehook/matchers"
	"github.com/edgehook/edgehook/provider"
)

// Field is the connection config field portal ids are matched with.
const Field = "portalId"

// Tolerance is the replay window on X-HubSpot-Request-Timestamp.
const Tolerance = 5 * time.Minute

// Signature headers.
const (
	HeaderV3 = "X-HubSpot-Signature-v3"
	HeaderV1 = "X-HubSpot-Signature"
)

var (
	v3 = matchers.Preset{Name: "hubspot", Signature: matchers.HMACConfig{
		Header:          HeaderV3,
		Algorithm:       matchers.SHA256,
		Encoding:        matchers.Base64,
		Signed:          "{method}{url}{body}{timestamp}",
		TimestampHeader: "X-HubSpot-Request-Timestamp",
		TimestampFormat: matchers.UnixMillis,
		Tolerance:       Tolerance,
	}}
	v1 = matchers.Preset{Name: "hubspot", Signature: matchers.HMACConfig{
		Header:    HeaderV1,
		Algorithm: matchers.SHA256,
		Encoding:  matchers.Hex,
		Plain:     true,
	}}
)

// Options are the integration options.
type Options struct {
	// AcceptV1, default true, accepts requests that carry only the v1
	// signature. v1 signs no timestamp and no URL, so a captured v1
	// request can be replayed at any time (only dedupe stops it); set it
	// to false when every subscription sends v3.
	AcceptV1 *bool `json:"accept_v1"`
}

// Provider is the HubSpot provider plugin.
type Provider struct{}

// ID returns "hubspot".
func (Provider) ID() string { return "hubspot" }

// Provision decodes the options strictly and compiles the v3 and v1
// matchers for the client secret (webhook_secret) and
// webhook_secret_previous.
func (Provider) Provision(cfg provider.Config) (provider.Instance, error) {
	var o Options
	if err := matchers.DecodeOptions(cfg.Options, &o); err != nil {
		return nil, fmt.Errorf("plugins/hubspot: %w", err)
	}
	cfg.Options = nil
	m3, err := v3.Compile(cfg)
	if err != nil {
		return nil, err
	}
	in := &Instance{v3: m3}
	if o.AcceptV1 == nil || *o.AcceptV1 {
		if in.v1, err = v1.Compile(cfg); err != nil {
			return nil, err
		}
	}
	return in, nil
}

// Instance is a provisioned HubSpot integration.
type Instance struct {
	v3, v1 *matchers.PresetInstance // v1 nil when not accepted
}

// urlPool holds the buffers DecodeURI writes into.
var urlPool = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// Verify checks v3 when the request carries it (over the public URL with
// DecodeURI applied), else v1 when accepted.
func (in *Instance) Verify(r *provider.Request) (bool, error) {
	if len(r.Header(HeaderV3)) > 0 {
		buf := urlPool.Get().(*[]byte)
		dr := *r
		dr.URL = DecodeURI((*buf)[:0], r.URL)
		ok, err := in.v3.Verify(&dr)
		*buf = dr.URL[:0]
		urlPool.Put(buf)
		return ok, err
	}
	if in.v1 == nil {
		return false, nil
	}
	return in.v1.Verify(r)
}

// SignsURL reports true: v3 signs the URL.
func (in *Instance) SignsURL() bool { return true }

var errBatch = errors.New("plugins/hubspot: body is not a JSON array of events, each an object with a portalId")

// Route reports each distinct portalId as a routing key and, when there
// are several, the part of the batch that belongs to each (see Split).
func (in *Instance) Route(r *provider.Request, rt *provider.Routing) error {
	if err := Split(r.Body(), rt); err != nil {
		return provider.BadRequest(err.Error())
	}
	return nil
}

// Interface guards.
var (
	_ provider.Provider  = Provider{}
	_ provider.Instance  = (*Instance)(nil)
	_ provider.URLSigner = (*Instance)(nil)
)
