package streak

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/matchers"
	"github.com/edgehook/edgehook/provider"
)

// KeyField is the connection config field holding the keys of the
// webhooks the post-creation hook registered, comma-separated.
const KeyField = "streakWebhookKey"

// Defaults of the integration options.
const (
	DefaultAPIBaseURL = "https://api.streak.com/api"
	DefaultEvent      = "BOX_EDITED"
)

// options are the integration options (SPEC §9). With neither key set
// the integration has no lifecycle hooks: its connections carry tokens
// registered by hand.
type options struct {
	PipelineKey string   `json:"pipeline_key"`
	TeamKey     string   `json:"team_key"`
	Events      []string `json:"events"`
	APIBaseURL  string   `json:"api_base_url"`
}

// registration is what the hooks need, prepared once in Provision.
type registration struct {
	events []string
	// createURL is {api_base_url}/v2/webhooks?pipelineKey=… (or teamKey=…).
	createURL string
	// deleteURL is {api_base_url}/v2/webhooks/, the key is appended.
	deleteURL string
}

// compileHooks decodes the options strictly; nil means no hooks.
func compileHooks(raw json.RawMessage) (*registration, error) {
	var o options
	if err := matchers.DecodeOptions(raw, &o); err != nil {
		return nil, err
	}
	if o.PipelineKey == "" && o.TeamKey == "" {
		if o.Events != nil || o.APIBaseURL != "" {
			return nil, errors.New("options: events and api_base_url need pipeline_key or team_key")
		}
		return nil, nil
	}
	if o.PipelineKey != "" && o.TeamKey != "" {
		return nil, errors.New("options: set pipeline_key or team_key, not both")
	}
	if o.Events == nil {
		o.Events = []string{DefaultEvent}
	}
	if len(o.Events) == 0 {
		return nil, errors.New("options: events must not be empty")
	}
	for _, e := range o.Events {
		if e == "" {
			return nil, errors.New("options: events: an event is empty")
		}
	}
	base := o.APIBaseURL
	if base == "" {
		base = DefaultAPIBaseURL
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
		return nil, fmt.Errorf("options: api_base_url %q: want an absolute http or https URL without a query", base)
	}
	base = strings.TrimRight(base, "/") + "/v2/webhooks"
	query := "?pipelineKey=" + url.QueryEscape(o.PipelineKey)
	if o.TeamKey != "" {
		query = "?teamKey=" + url.QueryEscape(o.TeamKey)
	}
	return &registration{events: o.Events, createURL: base + query, deleteURL: base + "/"}, nil
}

// Hooks reports both hooks when the integration names a pipeline or a
// team, none otherwise. The post-creation hook sets the token and the
// webhook keys; a connection created with either runs none.
func (in *Instance) Hooks() provider.Hooks {
	if in.reg == nil {
		return provider.Hooks{}
	}
	return provider.Hooks{PostCreation: true, PreDeletion: true, Fields: []string{Field, KeyField}}
}

// PrepareHook generates the post-creation hook's token: 32 random bytes,
// hex-encoded, stored in the task before Streak is called so that every
// attempt registers the same token.
func (in *Instance) PrepareHook(name string, _ *provider.HookConn) ([]byte, error) {
	if name != provider.PostConnectionCreation {
		return nil, nil
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("plugins/streak: generating a token: %w", err)
	}
	return json.Marshal(hookState{Token: hex.EncodeToString(b[:])})
}

// hookState is the post-creation hook's state: the token, and the key of
// each event's webhook once Streak answered, so that a retry after a
// partial failure does not register an event twice.
type hookState struct {
	Token string            `json:"token"`
	Keys  map[string]string `json:"keys,omitempty"`
}

// RunHook registers (post-creation) or unregisters (pre-deletion) the
// connection's webhooks.
func (in *Instance) RunHook(ctx context.Context, call *provider.HookCall) (provider.HookResult, error) {
	if in.reg == nil {
		return provider.HookResult{}, errors.New("plugins/streak: the integration has no pipeline_key or team_key")
	}
	auth, err := basicAuth(call.Conn.Credentials)
	if err != nil {
		return provider.HookResult{}, err
	}
	if call.Hook == provider.PreConnectionDeletion {
		return provider.HookResult{}, in.reg.unregister(ctx, call, auth)
	}
	return in.reg.register(ctx, call, auth)
}

// basicAuth is the Authorization header for the connection's api_key:
// HTTP Basic with the key as user name and an empty password.
func basicAuth(creds map[string]json.RawMessage) (string, error) {
	var key string
	if raw, ok := creds["api_key"]; !ok || json.Unmarshal(raw, &key) != nil || key == "" {
		return "", errors.New("plugins/streak: the connection's credentials need a non-empty api_key string")
	}
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":")), nil
}

func (r *registration) register(ctx context.Context, call *provider.HookCall, auth string) (provider.HookResult, error) {
	var st hookState
	if err := json.Unmarshal(call.State, &st); err != nil || st.Token == "" {
		return provider.HookResult{}, errors.New("plugins/streak: the task holds no token")
	}
	if call.PublicURL == "" {
		return provider.HookResult{}, errors.New("plugins/streak: --public-url is not set: the webhook's targetUrl is <public-url>/webhook/{env}/{integration}")
	}
	target := call.PublicURL + "/webhook/" + url.PathEscape(call.Conn.Env) + "/" + url.PathEscape(call.Conn.Integration)
	if st.Keys == nil {
		st.Keys = map[string]string{}
	}
	keys := make([]string, 0, len(r.events))
	for _, ev := range r.events {
		if st.Keys[ev] == "" {
			key, err := r.create(ctx, call.Client, auth, ev, target, st.Token)
			if err != nil {
				state, _ := json.Marshal(st)
				return provider.HookResult{State: state}, err
			}
			st.Keys[ev] = key
		}
		keys = append(keys, st.Keys[ev])
	}
	return provider.HookResult{Config: map[string]json.RawMessage{
		Field:    json.RawMessage(strconv.Quote(st.Token)),
		KeyField: json.RawMessage(strconv.Quote(strings.Join(keys, ","))),
	}}, nil
}

// create registers one event's webhook and returns its key.
func (r *registration) create(ctx context.Context, c *fasthttp.Client, auth, event, target, token string) (string, error) {
	body, _ := json.Marshal(struct {
		Event     string `json:"event"`
		TargetURL string `json:"targetUrl"`
		Token     string `json:"token"`
	}{event, target, token})
	status, reply, err := do(ctx, c, fasthttp.MethodPost, r.createURL, auth, body)
	if err != nil {
		return "", fmt.Errorf("plugins/streak: registering the %s webhook: %w", event, err)
	}
	if status/100 != 2 {
		return "", fmt.Errorf("plugins/streak: registering the %s webhook: Streak answered %d", event, status)
	}
	var w struct {
		Key string `json:"key"`
	}
	if json.Unmarshal(reply, &w) != nil || w.Key == "" || strings.Contains(w.Key, ",") {
		return "", fmt.Errorf("plugins/streak: registering the %s webhook: the reply has no usable key", event)
	}
	return w.Key, nil
}

// unregister deletes every webhook in the connection's streakWebhookKey;
// one Streak no longer knows (404) counts as deleted.
func (r *registration) unregister(ctx context.Context, call *provider.HookCall, auth string) error {
	var keys string
	if raw, ok := call.Conn.Config[KeyField]; ok {
		_ = json.Unmarshal(raw, &keys) // a non-string holds no keys

	}
	for _, key := range strings.Split(keys, ",") {
		if key = strings.TrimSpace(key); key == "" {
			continue
		}
		status, _, err := do(ctx, call.Client, fasthttp.MethodDelete, r.deleteURL+url.PathEscape(key), auth, nil)
		if err != nil {
			return fmt.Errorf("plugins/streak: deleting webhook %s: %w", key, err)
		}
		if status/100 != 2 && status != fasthttp.StatusNotFound {
			return fmt.Errorf("plugins/streak: deleting webhook %s: Streak answered %d", key, status)
		}
	}
	return nil
}

// do makes one request before ctx's deadline and returns the status and
// a copy of the reply body. Redirects are not followed.
func do(ctx context.Context, c *fasthttp.Client, method, u, auth string, body []byte) (int, []byte, error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(method)
	req.SetRequestURI(u)
	req.Header.Set(fasthttp.HeaderAuthorization, auth)
	req.Header.Set(fasthttp.HeaderAccept, "application/json")
	if body != nil {
		req.Header.SetContentType("application/json")
		req.SetBody(body)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(30 * time.Second)
	}
	if err := ctx.Err(); err != nil {
		return 0, nil, err
	}
	if err := c.DoDeadline(req, resp, deadline); err != nil {
		return 0, nil, err
	}
	return resp.StatusCode(), append([]byte(nil), resp.Body()...), nil
}
