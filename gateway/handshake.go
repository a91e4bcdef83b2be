package gateway

import (
	"context"
	"errors"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/config"
	"github.com/edgehook/edgehook/provider"
)

// captureTimeout bounds the etcd write of a captured handshake secret.
const captureTimeout = 5 * time.Second

// answerHandshake writes a Handshaker's reply. When the handshake delivered
// the integration's signing secret (w.Secret), the secret is stored first,
// durably, and only if the integration has none; if it cannot be, the
// provider gets an error instead of the reply, so it does not take the
// handshake as done: 409 when a secret is already set (a second handshake
// raced this one, or the operator set one), 503 when etcd fails. It
// reports whether the reply was written.
func (s *Server) answerHandshake(ctx *fasthttp.RequestCtx, env *config.Env, ig *config.Integ, w *provider.Reply) bool {
	if len(w.Secret) > 0 {
		c, cancel := context.WithTimeout(s.ctx, captureTimeout)
		err := s.admin.CaptureSecret(c, env.Name, ig.Name, string(w.Secret))
		cancel()
		switch {
		case errors.Is(err, config.ErrSecretSet):
			writeError(ctx, fasthttp.StatusConflict, "conflict", "the integration already has a webhook_secret")
			return false
		case err != nil:
			s.log.Error("gateway: storing a handshake secret failed", "env", env.Name, "integration", ig.Name, "err", err)
			overloaded(ctx, "could not store the handshake secret, retry later")
			return false
		}
		s.log.Info("gateway: handshake secret stored as webhook_secret", "env", env.Name, "integration", ig.Name, "provider", ig.Provider)
	}
	writeReply(ctx, w)
	return true
}
