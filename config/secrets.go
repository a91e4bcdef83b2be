package config

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
)

// StoreOption configures a Store.
type StoreOption func(*Store)

// WithSecretFields names, per provider id, the connection config fields
// holding credentials (provider.Registry's SecretConfigFields): they are
// sealed at rest like credentials, and where such a field routes (the
// routing value is the credential, Streak's token) its index entries hold
// a keyed hash of the value, never the value (credroute.go).
func WithSecretFields(f func(providerID string) []string) StoreOption {
	return func(s *Store) { s.secretFields = f }
}

// WithSealer seals every secret field the Store writes (seal.go); without
// it they are stored in clear. Values sealed earlier are opened either way
// when the Sealer has their key.
func WithSealer(sl *Sealer) StoreOption {
	return func(s *Store) { s.sealer = sl }
}

// Field names, as the additional data of their sealed values.
const (
	fieldSecret     = "webhook_secret"
	fieldPrevious   = "webhook_secret_previous"
	fieldCredential = "credentials."
	fieldConfig     = "config."
	fieldTaskState  = "state"
)

func sealAAD(key, field string) string { return key + "\x00" + field }

// sealEnvironment returns e as stored at etcd key k.
func (sl *Sealer) sealEnvironment(k string, e *Environment) *Environment {
	c := *e
	c.WebhookSecret = sl.seal(sealAAD(k, fieldSecret), e.WebhookSecret)
	return &c
}

// openEnvironment opens, in place, e as read from etcd key k.
func (sl *Sealer) openEnvironment(k string, e *Environment) error {
	var err error
	e.WebhookSecret, err = sl.open(sealAAD(k, fieldSecret), e.WebhookSecret)
	return err
}

func (sl *Sealer) sealIntegration(k string, in *Integration) *Integration {
	c := *in
	c.WebhookSecret = sl.seal(sealAAD(k, fieldSecret), in.WebhookSecret)
	c.WebhookSecretPrevious = sl.seal(sealAAD(k, fieldPrevious), in.WebhookSecretPrevious)
	return &c
}

func (sl *Sealer) openIntegration(k string, in *Integration) error {
	var err error
	if in.WebhookSecret, err = sl.open(sealAAD(k, fieldSecret), in.WebhookSecret); err != nil {
		return err
	}
	in.WebhookSecretPrevious, err = sl.open(sealAAD(k, fieldPrevious), in.WebhookSecretPrevious)
	return err
}

// sealConnection returns c as stored at etcd key k: every credentials
// value and the config fields named in secret, each a JSON string of its
// sealed JSON text.
func (sl *Sealer) sealConnection(k string, c *Connection, secret []string) *Connection {
	if sl == nil {
		return c
	}
	out := *c
	out.Credentials = sealFields(sl, k, fieldCredential, c.Credentials, func(string) bool { return true })
	out.Config = sealFields(sl, k, fieldConfig, c.Config, func(f string) bool { return slices.Contains(secret, f) })
	return &out
}

func sealFields(sl *Sealer, k, kind string, m map[string]json.RawMessage, secret func(string) bool) map[string]json.RawMessage {
	if len(m) == 0 {
		return m
	}
	out := make(map[string]json.RawMessage, len(m))
	for f, v := range m {
		if secret(f) && !isNull(v) {
			v = json.RawMessage(strconv.Quote(sl.seal(sealAAD(k, kind+f), string(v))))
		}
		out[f] = v
	}
	return out
}

// openConnection opens, in place, c as read from etcd key k.
func (sl *Sealer) openConnection(k string, c *Connection) error {
	for _, m := range []struct {
		kind string
		m    map[string]json.RawMessage
	}{{fieldCredential, c.Credentials}, {fieldConfig, c.Config}} {
		for f, v := range m.m {
			var s string
			if len(v) == 0 || v[0] != '"' || json.Unmarshal(v, &s) != nil || sealedBy(s) == "" {
				continue
			}
			plain, err := sl.open(sealAAD(k, m.kind+f), s)
			if err != nil {
				return err
			}
			m.m[f] = json.RawMessage(plain)
		}
	}
	return nil
}

// sealTask returns the encoding of t with its state sealed.
func (sl *Sealer) sealTask(t *Task) string {
	if sl == nil || t.State == nil {
		return t.encode()
	}
	c := *t
	c.State = []byte(sl.seal(sealAAD(t.stateKey(), fieldTaskState), string(t.State)))
	return c.encode()
}

// openTask opens t's state in place.
func (sl *Sealer) openTask(t *Task) error {
	if sealedBy(string(t.State)) == "" {
		return nil
	}
	plain, err := sl.open(sealAAD(t.stateKey(), fieldTaskState), string(t.State))
	if err != nil {
		return err
	}
	t.State = []byte(plain)
	return nil
}

// stateKey names a task for its sealed state: the same in every space.
func (t *Task) stateKey() string {
	return "task/" + t.Env + "/" + t.Integration + "/" + t.Connection + "/" + t.Hook
}

// decodeStoredEnvironment decodes and opens the value stored at k.
func (s *Store) decodeStoredEnvironment(k string, raw []byte) (*Environment, error) {
	e, err := DecodeEnvironment(raw)
	if err != nil {
		return nil, err
	}
	if err := s.sealer.openEnvironment(k, e); err != nil {
		return nil, err
	}
	return e, nil
}

// decodeStoredIntegration decodes and opens the value stored at k.
func (s *Store) decodeStoredIntegration(k string, raw []byte) (*Integration, error) {
	in, err := DecodeIntegration(raw)
	if err != nil {
		return nil, err
	}
	if err := s.sealer.openIntegration(k, in); err != nil {
		return nil, err
	}
	return in, nil
}

// encodeJSON marshals a stored value.
func encodeJSON(what string, v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("config: encoding %s: %w", what, err)
	}
	return string(b), nil
}
