package config

import (
	"context"
	"errors"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// ErrSecretSet is returned by CaptureSecret when the integration already
// has a webhook_secret.
var ErrSecretSet = errors.New("config: integration already has a webhook_secret")

// captureAttempts bounds the retries of a CaptureSecret that keeps losing
// to concurrent writes of the integration.
const captureAttempts = 8

// CaptureSecret stores secret as the webhook_secret of integration name,
// only if it has none: a handshake that delivers the provider's signing
// secret (Asana, Notion) completes the integration this way. The write is
// conditioned on the integration not having changed since it was read, so
// of two concurrent captures one wins and the other gets ErrSecretSet. The
// value is provisioned before it is stored, like any write. A missing
// integration wraps ErrNotFound.
func (s *Store) CaptureSecret(ctx context.Context, env, name, secret string) error {
	if !validName(env) || !validName(name) {
		return fmt.Errorf("config: integration %q: %w", name, ErrNotFound)
	}
	if secret == "" {
		return invalidf("config: integration %q: empty secret", name)
	}
	key := integKey(s.prefix, env, name)
	for range captureAttempts {
		resp, err := s.cli.Get(ctx, key)
		if err != nil {
			return fmt.Errorf("config: reading integration %q: %w", name, err)
		}
		if len(resp.Kvs) == 0 {
			return fmt.Errorf("config: integration %q: %w", name, ErrNotFound)
		}
		kv := resp.Kvs[0]
		in, err := s.decodeStoredIntegration(key, kv.Value)
		if err != nil {
			return err
		}
		if in.WebhookSecret != "" {
			return ErrSecretSet
		}
		in.WebhookSecret = secret
		if _, err := ProvisionIntegration(env, name, in, s.prov); err != nil {
			return err
		}
		val, err := encodeJSON("integration", s.sealer.sealIntegration(key, in))
		if err != nil {
			return err
		}
		txn, err := s.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", kv.ModRevision)).
			Then(clientv3.OpPut(key, val)).
			Commit()
		if err != nil {
			return fmt.Errorf("config: storing integration %q: %w", name, err)
		}
		if txn.Succeeded {
			return nil
		}
	}
	return fmt.Errorf("config: integration %q: concurrent writes kept conflicting", name)
}
