package matchers

import "github.com/edgehook/edgehook/provider"

// HandshakeFunc answers the requests of a provider's handshake that the
// gateway must answer itself (see provider.Handshaker); in is the
// provisioned instance, to verify a signed handshake with.
type HandshakeFunc func(in *PresetInstance, r *provider.Request, w *provider.Reply) (handled bool, err error)

// WithHandshake is a provider that is a Preset plus a handshake: data and
// one function (Twitch, Dropbox). With Capture it is provisioned with
// CompileCapture, and the handshake learns from in.Armed whether it may
// capture a secret (Asana, Notion).
type WithHandshake struct {
	Preset
	Handshake HandshakeFunc
	Capture   bool
}

// Provision compiles the preset (or CompileCapture with Capture) into an
// instance that also answers the handshake.
func (p WithHandshake) Provision(cfg provider.Config) (provider.Instance, error) {
	var in *PresetInstance
	var err error
	if p.Capture {
		in, err = p.CompileCapture(cfg)
	} else {
		in, err = p.Compile(cfg)
	}
	if err != nil {
		return nil, err
	}
	return &HandshakeInstance{PresetInstance: in, fn: p.Handshake}, nil
}

// HandshakeInstance is a provisioned WithHandshake.
type HandshakeInstance struct {
	*PresetInstance
	fn HandshakeFunc
}

// Handshake runs the provider's handshake function.
func (in *HandshakeInstance) Handshake(r *provider.Request, w *provider.Reply) (bool, error) {
	return in.fn(in.PresetInstance, r, w)
}

// Interface guards.
var (
	_ provider.Provider   = WithHandshake{}
	_ provider.Handshaker = (*HandshakeInstance)(nil)
)
