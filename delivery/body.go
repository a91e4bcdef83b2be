package delivery

import "github.com/edgehook/edgehook/internal/jsonx"

// appendForwardBody appends the forward body of SPEC §6 to dst (sized for
// it when nil):
// {"from":…,"type":"forward","connectionId":…|null,"providerConfigKey":…,"payload":…}
// with the payload copied verbatim (null when empty).
func appendForwardBody(dst []byte, provider, integration, connID string, payload []byte) []byte {
	if dst == nil { // allocate once: the envelope is small beside the payload
		dst = make([]byte, 0, 96+2*(len(provider)+len(integration)+len(connID))+len(payload))
	}
	dst = append(dst, `{"from":`...)
	dst = jsonx.AppendString(dst, provider)
	dst = append(dst, `,"type":"forward","connectionId":`...)
	if connID == "" {
		dst = append(dst, "null"...)
	} else {
		dst = jsonx.AppendString(dst, connID)
	}
	dst = append(dst, `,"providerConfigKey":`...)
	dst = jsonx.AppendString(dst, integration)
	dst = append(dst, `,"payload":`...)
	if len(payload) == 0 {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, payload...)
	}
	return append(dst, '}')
}
