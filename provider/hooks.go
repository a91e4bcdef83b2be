package provider

import (
	"context"
	"encoding/json"

	"github.com/valyala/fasthttp"
)

// Names of the connection lifecycle hooks (SPEC §9), as the admin API shows
// them under a connection's "hooks".
const (
	PostConnectionCreation = "post_connection_creation"
	PreConnectionDeletion  = "pre_connection_deletion"
)

// Lifecycle is implemented by instances whose provider needs work done in
// its own API when a connection is created or deleted (Streak registers a
// webhook after creation and unregisters it before deletion). The gateway
// runs the hooks as tasks in etcd, on one instance at a time, retried with
// backoff (SPEC §9).
//
// A hook runs in two steps. PrepareHook generates what every attempt must
// reuse (Streak's token); the task stores it before the provider is first
// called, so an attempt repeated after a crash sends the same values.
// RunHook then makes one attempt; its config changes are stored with the
// task's result in one transaction.
type Lifecycle interface {
	// Hooks describes the instance's hooks. It does not change for an
	// instance.
	Hooks() Hooks
	// PrepareHook returns the state hook name starts from; nil when it
	// needs none. It runs once per task, before the first attempt.
	PrepareHook(name string, c *HookConn) (state []byte, err error)
	// RunHook makes one attempt of call.Hook within ctx. An error is
	// shown to operators as the hook's last_error, so it must not hold a
	// secret. A result's State, when set, replaces the stored state even
	// when err is not nil (progress a retry must not redo).
	RunHook(ctx context.Context, call *HookCall) (HookResult, error)
}

// Hooks says which hooks an instance has.
type Hooks struct {
	PostCreation bool // PostConnectionCreation
	PreDeletion  bool // PreConnectionDeletion
	// Fields names the connection config fields the post-creation hook
	// sets (Streak: streakWebhookToken, streakWebhookKey). A connection
	// created with any of them set runs no post-creation hook, and an
	// update keeps their stored values unless it names them.
	Fields []string
}

// Has reports whether the hook called name is one of h.
func (h Hooks) Has(name string) bool {
	switch name {
	case PostConnectionCreation:
		return h.PostCreation
	case PreConnectionDeletion:
		return h.PreDeletion
	}
	return false
}

// HookConn is the connection a hook runs for. Its maps are the stored
// values; a hook must not modify them.
type HookConn struct {
	Env, Integration, ID string
	Config               map[string]json.RawMessage
	Credentials          map[string]json.RawMessage
}

// HookCall is one attempt of a hook.
type HookCall struct {
	Hook string // PostConnectionCreation or PreConnectionDeletion
	Conn *HookConn
	// State is what PrepareHook returned, as updated by earlier attempts.
	State []byte
	// PublicURL is the gateway's --public-url without a trailing slash; ""
	// when it is not set, and then a hook that needs it fails saying so.
	PublicURL string
	// Client makes the hook's requests. It dials through the outgoing
	// address guard (delivery/sender: private addresses are refused
	// unless --allow-private-destinations) and follows no redirects. Use
	// a deadline from ctx (DoDeadline).
	Client *fasthttp.Client
}

// HookResult is what an attempt produced.
type HookResult struct {
	// Config holds the connection config fields to set (post-creation).
	Config map[string]json.RawMessage
	// State, when not nil, replaces the task's state.
	State []byte
}
