// Package config holds edgehook's configuration model (SPEC §4): the JSON
// types stored in etcd, the Store the admin API writes through, the
// read-through Cache every gateway keeps in front of etcd, and the embedded
// etcd used for single-node runs and tests.
//
// Values are decoded strictly (unknown fields rejected), provisioned
// (defaults applied, secrets and provider instances prepared) and validated
// once, when they are written or arrive from etcd. The request path only
// reads the provisioned forms (Env, Integ, Conn).
package config

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/edgehook/edgehook/provider"
)

// Environment is the stored JSON of {prefix}/envs/{env}.
type Environment struct {
	WebhookURLs   []string `json:"webhook_urls,omitempty"`
	WebhookSecret string   `json:"webhook_secret,omitempty"`
	Unmatched     string   `json:"unmatched,omitempty"` // "forward" (default) or "drop"
}

// Integration is the stored JSON of {prefix}/envs/{env}/integrations/{name}.
type Integration struct {
	Provider              string          `json:"provider"`
	WebhookSecret         string          `json:"webhook_secret,omitempty"`
	WebhookSecretPrevious string          `json:"webhook_secret_previous,omitempty"`
	MaxBody               int64           `json:"max_body,omitempty"`
	DedupeWindow          string          `json:"dedupe_window,omitempty"`
	Options               json.RawMessage `json:"options,omitempty"`
	Syncs                 json.RawMessage `json:"syncs,omitempty"`
}

// Connection is the stored JSON of
// {prefix}/envs/{env}/connections/{integration}/{id}.
type Connection struct {
	ConnectionID       string                     `json:"connection_id,omitempty"`
	Config             map[string]json.RawMessage `json:"config,omitempty"`
	Credentials        map[string]json.RawMessage `json:"credentials,omitempty"`
	WebhookURLOverride string                     `json:"webhook_url_override,omitempty"`
	// Status is "deleting" while the provider's pre-deletion hook runs
	// (SPEC §9), else empty. Only the gateway sets it.
	Status string `json:"status,omitempty"`
	// Hooks is never stored: reads fill it from the connection's lifecycle
	// hook tasks, by hook name.
	Hooks map[string]*HookStatus `json:"hooks,omitempty"`
}

// StatusDeleting is the Status of a connection waiting for its
// pre-deletion hook; it has no routing index entries.
const StatusDeleting = "deleting"

// Env is a provisioned Environment, as the request path reads it.
type Env struct {
	Name          string
	URLs          []string
	Secret        string
	DropUnmatched bool
}

// Integ is a provisioned Integration.
type Integ struct {
	Env          string
	Name         string
	Provider     string
	Instance     provider.Instance
	MaxBody      int64         // 0 = gateway default
	DedupeWindow time.Duration // default 24h
	Syncs        []Sync        // webhook-enabled syncs, nil when none
	// Credentials are the connection config fields the provider names as
	// credentials (provider.Describer): routing by one of them means the
	// routing value is the credential (Streak's token).
	Credentials []string
}

// Credential reports whether connection config field holds a credential
// of the integration's provider. It does not allocate.
func (i *Integ) Credential(field string) bool {
	for _, f := range i.Credentials {
		if f == field {
			return true
		}
	}
	return false
}

// Conn is a provisioned Connection.
type Conn struct {
	ID          string
	URLOverride string
}

// Provisioner turns an integration's provider config into a provider
// Instance; *provider.Registry's Provision method is one.
type Provisioner func(providerID string, cfg provider.Config) (provider.Instance, error)

// ErrNotFound is returned when an environment, integration or connection
// does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned for a change the object's state does not allow
// now (updating a connection that is being deleted, retrying a hook that
// is done); the admin API answers it with 409.
var ErrConflict = errors.New("conflict")

// ValidationError is a value that failed decoding or validation; the admin
// API answers it with 400.
type ValidationError struct{ Msg string }

func (e *ValidationError) Error() string { return e.Msg }
