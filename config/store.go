package config

import (
	"context"
	"encoding/json"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Store reads and writes the configuration in etcd. It is what the admin API
// writes through: every value is decoded strictly and validated before it is
// stored, and a connection and its routing index entries change in one
// transaction. A Store is safe for concurrent use.
type Store struct {
	cli    *clientv3.Client
	prefix string
	prov   Provisioner
}

// NewStore returns a Store over cli for keys under prefix ("" means
// DefaultPrefix). prov validates integrations by provisioning them.
func NewStore(cli *clientv3.Client, prefix string, prov Provisioner) *Store {
	return &Store{cli: cli, prefix: normPrefix(prefix), prov: prov}
}

// Client returns the etcd client the Store uses.
func (s *Store) Client() *clientv3.Client { return s.cli }

// Prefix returns the key prefix, without a trailing slash.
func (s *Store) Prefix() string { return s.prefix }

func checkName(what, name string) error {
	if !validName(name) {
		return invalidf("config: %s name %q: want 1-128 of A-Z a-z 0-9 . _ ~ -, starting with a letter or digit", what, name)
	}
	return nil
}

// PutEnvironment validates raw and stores it as environment env, replacing
// any previous value. It returns the stored value.
func (s *Store) PutEnvironment(ctx context.Context, env string, raw []byte) (*Environment, error) {
	if err := checkName("environment", env); err != nil {
		return nil, err
	}
	e, err := DecodeEnvironment(raw)
	if err != nil {
		return nil, err
	}
	val, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("config: encoding environment: %w", err)
	}
	if _, err := s.cli.Put(ctx, envKey(s.prefix, env), string(val)); err != nil {
		return nil, fmt.Errorf("config: storing environment %q: %w", env, err)
	}
	return e, nil
}

// GetEnvironment returns environment env, or an error wrapping ErrNotFound
// (also for a name that could not exist).
func (s *Store) GetEnvironment(ctx context.Context, env string) (*Environment, error) {
	if !validName(env) {
		return nil, fmt.Errorf("config: environment %q: %w", env, ErrNotFound)
	}
	raw, err := s.get(ctx, "environment", envKey(s.prefix, env))
	if err != nil {
		return nil, err
	}
	return DecodeEnvironment(raw)
}

// PutIntegration validates raw, provisions it to check the provider and its
// options, and stores it as integration name of environment env. The
// environment must exist (else an error wrapping ErrNotFound).
func (s *Store) PutIntegration(ctx context.Context, env, name string, raw []byte) (*Integration, error) {
	if err := checkName("environment", env); err != nil {
		return nil, err
	}
	if err := checkName("integration", name); err != nil {
		return nil, err
	}
	in, err := DecodeIntegration(raw)
	if err != nil {
		return nil, err
	}
	if _, err := ProvisionIntegration(env, name, in, s.prov); err != nil {
		return nil, err
	}
	val, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("config: encoding integration: %w", err)
	}
	ek := envKey(s.prefix, env)
	resp, err := s.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.Version(ek), ">", 0)).
		Then(clientv3.OpPut(integKey(s.prefix, env, name), string(val))).
		Commit()
	if err != nil {
		return nil, fmt.Errorf("config: storing integration %q: %w", name, err)
	}
	if !resp.Succeeded {
		return nil, fmt.Errorf("config: environment %q: %w", env, ErrNotFound)
	}
	return in, nil
}

// GetIntegration returns integration name of environment env, or an error
// wrapping ErrNotFound.
func (s *Store) GetIntegration(ctx context.Context, env, name string) (*Integration, error) {
	if !validName(env) || !validName(name) {
		return nil, fmt.Errorf("config: integration %q: %w", name, ErrNotFound)
	}
	raw, err := s.get(ctx, "integration", integKey(s.prefix, env, name))
	if err != nil {
		return nil, err
	}
	return DecodeIntegration(raw)
}

// GetConnection returns connection id of integration integ, with the
// status of its lifecycle hooks in Hooks, or an error wrapping ErrNotFound.
func (s *Store) GetConnection(ctx context.Context, env, integ, id string) (*Connection, error) {
	if checkNames(env, integ, id) != nil {
		return nil, fmt.Errorf("config: connection %q: %w", id, ErrNotFound)
	}
	st, err := s.readConn(ctx, env, integ, id)
	if err != nil {
		return nil, err
	}
	if st.connKV == nil {
		return nil, fmt.Errorf("config: connection %q: %w", id, ErrNotFound)
	}
	c, err := DecodeConnection(st.connKV.Value, id)
	if err != nil {
		return nil, err
	}
	c.Hooks = st.hookView()
	return c, nil
}

// get reads one key; a missing key is an error wrapping ErrNotFound.
func (s *Store) get(ctx context.Context, what, key string) ([]byte, error) {
	resp, err := s.cli.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("config: reading %s: %w", what, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, fmt.Errorf("config: %s %q: %w", what, key, ErrNotFound)
	}
	return resp.Kvs[0].Value, nil
}
