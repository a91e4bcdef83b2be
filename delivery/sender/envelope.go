package sender

import "github.com/edgehook/edgehook/internal/jsonx"

// ForwardEnvelope returns what goes before and after a provider payload in
// the forward body of SPEC §6:
// {"from":…,"type":"forward","connectionId":…|null,"providerConfigKey":…,"payload":<payload>}.
// An empty payload is sent as null.
func ForwardEnvelope(provider, integration, connID string, empty bool) (prefix, suffix []byte) {
	prefix = make([]byte, 0, 96+2*(len(provider)+len(integration)+len(connID)))
	prefix = append(prefix, `{"from":`...)
	prefix = jsonx.AppendString(prefix, provider)
	prefix = append(prefix, `,"type":"forward","connectionId":`...)
	prefix = appendNullable(prefix, connID)
	prefix = append(prefix, `,"providerConfigKey":`...)
	prefix = jsonx.AppendString(prefix, integration)
	return payloadTail(prefix, empty)
}

// RunnerEnvelope returns what goes before and after a provider payload in
// the body posted to a webhook-enabled sync's runner (SPEC §8):
// {"connectionId":…,"providerConfigKey":…,"syncName":…,"model":…,"payload":<payload>}.
func RunnerEnvelope(integration, connID, syncName, model string, empty bool) (prefix, suffix []byte) {
	prefix = make([]byte, 0, 96+2*(len(integration)+len(connID)+len(syncName)+len(model)))
	prefix = append(prefix, `{"connectionId":`...)
	prefix = appendNullable(prefix, connID)
	prefix = append(prefix, `,"providerConfigKey":`...)
	prefix = jsonx.AppendString(prefix, integration)
	prefix = append(prefix, `,"syncName":`...)
	prefix = jsonx.AppendString(prefix, syncName)
	prefix = append(prefix, `,"model":`...)
	prefix = jsonx.AppendString(prefix, model)
	return payloadTail(prefix, empty)
}

func appendNullable(dst []byte, s string) []byte {
	if s == "" {
		return append(dst, "null"...)
	}
	return jsonx.AppendString(dst, s)
}

var closing = []byte("}")

func payloadTail(prefix []byte, empty bool) ([]byte, []byte) {
	prefix = append(prefix, `,"payload":`...)
	if empty {
		prefix = append(prefix, "null"...)
	}
	return prefix, closing
}
