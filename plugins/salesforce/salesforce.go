// Package salesforce is the Salesforce provider. Salesforce signs nothing:
// the integration's webhook_secret is a shared token, sent in the URL query
// (?token=, which is what an Outbound Message endpoint URL can carry) or
// the X-Edgehook-Token header, and compared in constant time.
//
// Two kinds of body arrive. SOAP Outbound Messages (XML) are routed by
// their OrganizationId to the connection config field organizationId,
// forwarded as a JSON string of the XML, deduplicated by their
// Notification Ids, and answered with the SOAP Ack envelope Salesforce
// requires. JSON bodies (Flow or Apex callouts) name their connection
// themselves in nango.connectionId and are forwarded verbatim.
package salesforce

import (
	"errors"
	"fmt"

	"github.com/edgehook/edgehook/matchers"
	"github.com/edgehook/edgehook/provider"
)

// Field is the connection config field organization ids are matched with.
const Field = "organizationId"

// TokenHeader carries the token when the sender can set headers.
const TokenHeader = "X-Edgehook-Token"

// Ack is the reply an Outbound Message needs; anything else counts as a
// failed delivery and is retried.
const Ack = `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>`

var (
	token        = matchers.TokenConfig{Header: TokenHeader, Query: "token"}
	connectionID = matchers.MustCompilePath("nango.connectionId")
	ackBody      = []byte(Ack)
	errNotJSON   = provider.BadRequest("plugins/salesforce: body is neither JSON nor XML")
)

// Provider is the Salesforce provider plugin.
type Provider struct{}

// ID returns "salesforce".
func (Provider) ID() string { return "salesforce" }

// Provision compiles the token matcher for webhook_secret and
// webhook_secret_previous.
func (Provider) Provision(cfg provider.Config) (provider.Instance, error) {
	if err := matchers.DecodeOptions(cfg.Options, &struct{}{}); err != nil {
		return nil, fmt.Errorf("plugins/salesforce: %w", err)
	}
	if cfg.Secret == "" {
		return nil, errors.New("plugins/salesforce: webhook_secret (the shared token) is required")
	}
	m, err := matchers.CompileToken(token, []byte(cfg.Secret), []byte(cfg.PreviousSecret))
	if err != nil {
		return nil, fmt.Errorf("plugins/salesforce: %w", err)
	}
	return &Instance{token: m}, nil
}

// Instance is a provisioned Salesforce integration.
type Instance struct {
	token *matchers.Token
}

// Verify reports whether the request carries the token.
func (in *Instance) Verify(r *provider.Request) (bool, error) { return in.token.Match(r) }

// Route routes an Outbound Message by its OrganizationId (see RouteSOAP),
// or a JSON body by nango.connectionId, a connection id.
func (in *Instance) Route(r *provider.Request, rt *provider.Routing) error {
	body := r.Body()
	if IsXML(body) {
		return RouteSOAP(body, rt)
	}
	id, err := connectionID.Key(body, nil)
	if err != nil {
		return errNotJSON
	}
	rt.ByID = true
	if id != nil {
		rt.AddKey(id)
	}
	return nil
}

// Ack answers an Outbound Message with the SOAP Ack envelope, as
// text/xml; JSON bodies keep the default reply.
func (in *Instance) Ack(r *provider.Request, w *provider.Reply) {
	if IsXML(r.Body()) {
		w.Status = 200
		w.ContentType = "text/xml; charset=utf-8"
		w.Body = ackBody
	}
}

// Interface guards.
var (
	_ provider.Provider = Provider{}
	_ provider.Instance = (*Instance)(nil)
	_ provider.Acker    = (*Instance)(nil)
)
