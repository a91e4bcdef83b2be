package config

import (
	"context"
	"fmt"
	"sync"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Store reads and writes the configuration in etcd. It is what the admin API
// writes through: every value is decoded strictly and validated before it is
// stored, and a connection and its routing index entries change in one
// transaction. A Store is safe for concurrent use.
type Store struct {
	cli          *clientv3.Client
	prefix       string
	prov         Provisioner
	secretFields func(providerID string) []string
	sealer       *Sealer

	hmu sync.Mutex
	rh  *routeHasher // read once, when first needed
}

// NewStore returns a Store over cli for keys under prefix ("" means
// DefaultPrefix). prov validates integrations by provisioning them.
func NewStore(cli *clientv3.Client, prefix string, prov Provisioner, opts ...StoreOption) *Store {
	s := &Store{cli: cli, prefix: normPrefix(prefix), prov: prov}
	for _, o := range opts {
		o(s)
	}
	return s
}

// credentialFields returns the connection config fields of provider id
// holding credentials.
func (s *Store) credentialFields(id string) []string {
	if s.secretFields == nil {
		return nil
	}
	return s.secretFields(id)
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
	k := envKey(s.prefix, env)
	val, err := encodeJSON("environment", s.sealer.sealEnvironment(k, e))
	if err != nil {
		return nil, err
	}
	if _, err := s.cli.Put(ctx, k, val); err != nil {
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
	k := envKey(s.prefix, env)
	raw, err := s.get(ctx, "environment", k)
	if err != nil {
		return nil, err
	}
	return s.decodeStoredEnvironment(k, raw)
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
	ek, k := envKey(s.prefix, env), integKey(s.prefix, env, name)
	val, err := encodeJSON("integration", s.sealer.sealIntegration(k, in))
	if err != nil {
		return nil, err
	}
	resp, err := s.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.Version(ek), ">", 0)).
		Then(clientv3.OpPut(k, val)).
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
	k := integKey(s.prefix, env, name)
	raw, err := s.get(ctx, "integration", k)
	if err != nil {
		return nil, err
	}
	return s.decodeStoredIntegration(k, raw)
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
	if err := s.sealer.openConnection(string(st.connKV.Key), c); err != nil {
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
