package telemetry

import "go.opentelemetry.io/otel/attribute"

// The span attributes of SPEC §10 the ingress and attempt spans share.
// None holds a secret, a header value, a URL or a payload byte.
const (
	AttrEnvironment = attribute.Key("edgehook.environment")
	AttrIntegration = attribute.Key("edgehook.integration")
	AttrProvider    = attribute.Key("edgehook.provider")
	AttrEventID     = attribute.Key("edgehook.event_id")
	AttrConnections = attribute.Key("edgehook.connections")
	AttrDeliveryID  = attribute.Key("edgehook.delivery_id")
	AttrAttempt     = attribute.Key("edgehook.attempt")
	AttrKind        = attribute.Key("edgehook.kind")
	AttrOutcome     = attribute.Key("edgehook.outcome")
	AttrAddress     = attribute.Key("server.address")
	AttrPort        = attribute.Key("server.port")
	AttrStatusCode  = attribute.Key("http.response.status_code")
	AttrMethod      = attribute.Key("http.request.method")
)
