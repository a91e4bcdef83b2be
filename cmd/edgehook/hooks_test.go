package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgehook/edgehook/internal/fakestreak"
	"github.com/edgehook/edgehook/internal/testsink"
)

const (
	hookPublicURL = "https://edge.example"
	connPath      = "prod/integrations/streak/connections/"
	createHook    = "post_connection_creation"
	deleteHook    = "pre_connection_deletion"
)

// seedStreak configures environment prod (forwarding to sink) and a
// Streak integration with lifecycle hooks against the fake API.
func seedStreak(t *testing.T, admin string, sink *testsink.Sink, api *fakestreak.Server) {
	t.Helper()
	mustPut(t, admin, "prod", `{"webhook_urls":["`+sink.URL+`"],"webhook_secret":"app"}`)
	mustPut(t, admin, "prod/integrations/streak", `{"provider":"streak","options":{"pipeline_key":"pipe-1","api_base_url":"`+api.URL+`"}}`)
}

func basic(key string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":")) }

// forwardedTo returns the connection ids of the sink's forwards.
func forwardedTo(t *testing.T, sink *testsink.Sink) []string {
	t.Helper()
	var ids []string
	for _, h := range sink.Wait(t, 0, time.Second) {
		var f struct {
			ConnectionID *string `json:"connectionId"`
		}
		if err := json.Unmarshal(h.Body, &f); err != nil {
			t.Fatalf("forward %s: %v", h.Body, err)
		}
		id := "<null>"
		if f.ConnectionID != nil {
			id = *f.ConnectionID
		}
		ids = append(ids, id)
	}
	return ids
}

// Acceptance 3: creating a connection registers one webhook with the
// documented body and Basic auth and stores token and key; events with
// the token route to the connection; deleting unregisters it exactly
// once, then the connection is gone.
func TestStreakHookLifecycle(t *testing.T) {
	etcd := hookEtcd(t)
	g := startHookGateway(t, etcd, "--public-url", hookPublicURL+"/")
	api, sink := fakestreak.New(t), testsink.New(t, nil)
	seedStreak(t, g.admin, sink, api)

	if got := string(mustPut(t, g.admin, connPath+"c1", `{"credentials":{"api_key":"key-1"}}`)); !strings.Contains(got, `"hooks":{"post_connection_creation":{"status":"pending"}}`) {
		t.Fatalf("PUT reply %s lacks the pending hook", got)
	}
	v := waitHook(t, g.admin, connPath+"c1", createHook, "done", 10*time.Second)
	creates := api.Creates()
	if len(creates) != 1 {
		t.Fatalf("%d registrations, want 1: %+v", len(creates), creates)
	}
	c := creates[0]
	if c.Query != "pipelineKey=pipe-1" || c.Auth != basic("key-1") || c.Event != "BOX_EDITED" ||
		c.TargetURL != hookPublicURL+"/webhook/prod/streak" || !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(c.Token) {
		t.Fatalf("registration %+v", c)
	}
	if v.Config["streakWebhookToken"] != "********" || v.Config["streakWebhookKey"] != c.Key || v.Hooks[createHook].Attempts != 1 {
		t.Fatalf("GET after the hook: %+v", v)
	}
	if cfg := storedConfig(t, etcd, "prod", "streak", "c1"); cfg["streakWebhookToken"] != c.Token || cfg["streakWebhookKey"] != c.Key {
		t.Fatalf("stored config %v; want the registered token and key %s", cfg, c.Key)
	}

	if st, _ := sendStreak(t, g.ingress, c.Token, "box-1"); st != 200 {
		t.Fatalf("event: %d", st)
	}
	if hits := sink.Wait(t, 1, 5*time.Second); len(hits) != 1 || !strings.Contains(string(hits[0].Body), `"connectionId":"c1"`) {
		t.Fatalf("forward %s, want one to c1", hits[0].Body)
	}

	st, b := adminCall(t, g.admin, http.MethodDelete, connPath+"c1", "")
	if st != 202 || !strings.Contains(string(b), `"status":"deleting"`) || !strings.Contains(string(b), `"pre_connection_deletion":{"status":"pending"}`) {
		t.Fatalf("DELETE: %d %s", st, b)
	}
	eventually(t, 10*time.Second, "connection removed", func() bool { return getConn(t, g.admin, connPath+"c1") == nil })
	if d := api.Deletes(); len(d) != 1 || d[0].Key != c.Key || d[0].Auth != basic("key-1") || d[0].Status != 200 {
		t.Fatalf("deletions %+v, want one of %s", d, c.Key)
	}
	if live := api.Live(); len(live) != 0 {
		t.Fatalf("webhooks left registered: %v", live)
	}
}

// Acceptance 4: Streak failing three times then succeeding: the
// connection shows the attempts and the last error while it fails, and
// done after, with one registration in effect.
func TestStreakHookRetries(t *testing.T) {
	g := startHookGateway(t, hookEtcd(t), "--public-url", hookPublicURL)
	api, sink := fakestreak.New(t), testsink.New(t, nil)
	seedStreak(t, g.admin, sink, api)
	api.FailCreates(3)
	mustPut(t, g.admin, connPath+"c1", `{"credentials":{"api_key":"key-1"}}`)

	var seen *connView
	eventually(t, 10*time.Second, "a failed attempt shown", func() bool {
		v := getConn(t, g.admin, connPath+"c1")
		if h := v.Hooks[createHook]; h.Status == "pending" && h.Attempts >= 1 && h.NextAttemptAt != "" {
			seen = v
		}
		return seen != nil || v.Hooks[createHook].Status == "done"
	})
	if seen == nil {
		t.Fatal("the hook was done before a failed attempt could be seen")
	}
	if h := seen.Hooks[createHook]; !strings.Contains(h.LastError, "Streak answered 500") {
		t.Fatalf("while failing: %+v", h)
	}
	if _, err := time.Parse(time.RFC3339Nano, seen.Hooks[createHook].NextAttemptAt); err != nil {
		t.Fatalf("next_attempt_at: %v", err)
	}
	v := waitHook(t, g.admin, connPath+"c1", createHook, "done", 10*time.Second)
	if h := v.Hooks[createHook]; h.Attempts != 4 || h.LastError != "" {
		t.Fatalf("done: %+v, want 4 attempts and no error", h)
	}
	creates, live := api.Creates(), api.Live()
	if api.Refused() != 3 || len(creates) != 1 || len(live) != 1 || v.Config["streakWebhookKey"] != creates[0].Key {
		t.Fatalf("refused %d, registrations %+v, live %v, key %q", api.Refused(), creates, live, v.Config["streakWebhookKey"])
	}
}

// Acceptance 5, first part: three gateways on one etcd; 20 connections
// created through them at once make 20 registrations, none twice.
func TestStreakHookExactlyOnceAcrossInstances(t *testing.T) {
	etcd := hookEtcd(t)
	var gws []*hookGateway
	for range 3 {
		gws = append(gws, startHookGateway(t, etcd, "--public-url", hookPublicURL))
	}
	api, sink := fakestreak.New(t), testsink.New(t, nil)
	seedStreak(t, gws[0].admin, sink, api)
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mustPut(t, gws[i%3].admin, connPath+fmt.Sprintf("c%d", i), fmt.Sprintf(`{"credentials":{"api_key":"key-%d"}}`, i))
		}()
	}
	wg.Wait()
	keys := map[string]string{}
	for i := range n {
		id := fmt.Sprintf("c%d", i)
		v := waitHook(t, gws[(i+1)%3].admin, connPath+id, createHook, "done", 20*time.Second)
		if v.Hooks[createHook].Attempts != 1 {
			t.Errorf("%s: %d attempts", id, v.Hooks[createHook].Attempts)
		}
		keys[v.Config["streakWebhookKey"]] = id
	}
	creates := api.Creates()
	tokens := map[string]int{}
	for _, c := range creates {
		tokens[c.Token]++
		if id := keys[c.Key]; id == "" || c.Auth != basic("key-"+strings.TrimPrefix(id, "c")) {
			t.Errorf("registration %s (auth %q) belongs to no connection, or to another's key", c.Key, c.Auth)
		}
	}
	if len(creates) != n || len(tokens) != n || len(keys) != n {
		t.Fatalf("%d registrations, %d distinct tokens, %d distinct keys; want %d each", len(creates), len(tokens), len(keys), n)
	}
}

// Acceptance 5, second part: the instance holding a claim is killed (-9)
// while Streak holds its reply; another instance finishes the task once
// the lease expired, with the same token, and the connection ends with
// one key.
func TestStreakHookTakeoverAfterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess crash test")
	}
	bin := buildBinary(t)
	etcd := hookEtcd(t)
	api, sink := fakestreak.New(t), testsink.New(t, nil)
	flags := []string{"--etcd", etcd[0], "--public-url", hookPublicURL, "--hook-lease-ttl", "2s", "--hook-backoff", "100ms"}
	a := startProc(t, bin, t.TempDir(), flags...)
	seedStreak(t, a.admin, sink, api)
	api.HoldCreates(1)
	mustPut(t, a.admin, connPath+"c1", `{"credentials":{"api_key":"key-1"}}`)
	select {
	case <-api.Arrived():
	case <-time.After(10 * time.Second):
		t.Fatal("the registration did not reach Streak")
	}
	if v := getConn(t, a.admin, connPath+"c1"); v.Hooks[createHook].Status != "running" || v.Hooks[createHook].Attempts != 1 {
		t.Fatalf("while Streak holds the reply: %+v", v.Hooks)
	}
	killed := time.Now()
	if err := a.cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	a.cmd.Wait()

	b := startProc(t, bin, t.TempDir(), flags...)
	v := waitHook(t, b.admin, connPath+"c1", createHook, "done", 20*time.Second)
	if took := time.Since(killed); took < 2*time.Second {
		t.Errorf("taken over %v after the kill, before the 2 s lease could expire", took)
	}
	creates := api.Creates()
	if len(creates) != 2 || creates[0].Token != creates[1].Token {
		t.Fatalf("registrations %+v: want the crashed one and one retry with the same token", creates)
	}
	cfg := storedConfig(t, etcd, "prod", "streak", "c1")
	if cfg["streakWebhookToken"] != creates[0].Token || cfg["streakWebhookKey"] != creates[1].Key || v.Hooks[createHook].Attempts != 2 {
		t.Fatalf("stored %v, hooks %+v; want token %s and key %s alone", cfg, v.Hooks, creates[0].Token, creates[1].Key)
	}
}

// Acceptance 6: a connection deleted while Streak is down stays deleting,
// its events unmatched; when Streak returns its webhook is unregistered
// and the connection removed, leaving no webhook registered.
func TestStreakHookDeletionWhileDown(t *testing.T) {
	etcd := hookEtcd(t)
	g := startHookGateway(t, etcd, "--public-url", hookPublicURL)
	api, sink := fakestreak.New(t), testsink.New(t, nil)
	seedStreak(t, g.admin, sink, api)
	for _, id := range []string{"c1", "c2"} {
		mustPut(t, g.admin, connPath+id, `{"credentials":{"api_key":"key-`+id+`"}}`)
		waitHook(t, g.admin, connPath+id, createHook, "done", 10*time.Second)
	}
	token1 := storedConfig(t, etcd, "prod", "streak", "c1")["streakWebhookToken"]
	token2 := storedConfig(t, etcd, "prod", "streak", "c2")["streakWebhookToken"]

	api.SetDown(true)
	if st, b := adminCall(t, g.admin, http.MethodDelete, connPath+"c1", ""); st != 202 {
		t.Fatalf("DELETE: %d %s", st, b)
	}
	eventually(t, 10*time.Second, "failed deletion attempts shown", func() bool {
		v := getConn(t, g.admin, connPath+"c1")
		h := v.Hooks[deleteHook]
		return v.Status == "deleting" && h.Attempts >= 2 && strings.Contains(h.LastError, "Streak answered 503")
	})
	time.Sleep(time.Second) // the routing change is in force everywhere within 1 s (SPEC §4)
	if st, reply := sendStreak(t, g.ingress, token1, "box-deleted"); st != 200 || strings.Contains(reply, `"connections":1`) {
		t.Fatalf("event of the deleting connection: %d %s", st, reply)
	}
	if st, reply := sendStreak(t, g.ingress, token2, "box-live"); st != 200 {
		t.Fatalf("event of c2: %d %s", st, reply)
	}
	eventually(t, 5*time.Second, "c2's forward", func() bool { return strings.Contains(strings.Join(forwardedTo(t, sink), ","), "c2") })
	time.Sleep(200 * time.Millisecond)
	for _, id := range forwardedTo(t, sink) {
		if id == "c1" {
			t.Fatal("an event of the deleting connection was forwarded to it")
		}
	}
	if v := getConn(t, g.admin, connPath+"c1"); v.Status != "deleting" || len(api.Live()) != 2 {
		t.Fatalf("while Streak is down: status %q, live %v", v.Status, api.Live())
	}

	api.SetDown(false)
	eventually(t, 15*time.Second, "connection removed", func() bool { return getConn(t, g.admin, connPath+"c1") == nil })
	key1 := ""
	for _, c := range api.Creates() {
		if c.Token == token1 {
			key1 = c.Key
		}
	}
	var done int
	for _, d := range api.Deletes() {
		if d.Key != key1 {
			t.Errorf("deleted %s, not c1's webhook %s", d.Key, key1)
		}
		if d.Status == 200 {
			done++
		}
	}
	if live := api.Live(); done != 1 || len(live) != 1 || live[key1].Token != "" {
		t.Fatalf("%d successful deletions of %s, live %v; want one, and only c2's webhook left", done, key1, live)
	}
}

// A hook that needs the public URL fails with that reason visible when
// --public-url is not set.
func TestStreakHookNeedsPublicURL(t *testing.T) {
	g := startHookGateway(t, hookEtcd(t))
	api, sink := fakestreak.New(t), testsink.New(t, nil)
	seedStreak(t, g.admin, sink, api)
	mustPut(t, g.admin, connPath+"c1", `{"credentials":{"api_key":"key-1"}}`)
	eventually(t, 10*time.Second, "the reason shown", func() bool {
		return strings.Contains(getConn(t, g.admin, connPath+"c1").Hooks[createHook].LastError, "--public-url is not set")
	})
	if n := len(api.Creates()) + api.Refused(); n != 0 {
		t.Fatalf("Streak was called %d times", n)
	}
}

// The admin rules of SPEC §9 around hooks: an update runs no hook and
// keeps the fields the hook set unless named; a connection created with
// those fields runs none; force deletion skips the hook; an integration
// without hooks deletes at once; retry answers for a done hook.
func TestStreakHookAdminRules(t *testing.T) {
	etcd := hookEtcd(t)
	g := startHookGateway(t, etcd, "--public-url", hookPublicURL)
	api, sink := fakestreak.New(t), testsink.New(t, nil)
	seedStreak(t, g.admin, sink, api)
	mustPut(t, g.admin, connPath+"c1", `{"credentials":{"api_key":"key-1"}}`)
	waitHook(t, g.admin, connPath+"c1", createHook, "done", 10*time.Second)
	before := storedConfig(t, etcd, "prod", "streak", "c1")

	t.Run("update keeps the hook's fields", func(t *testing.T) {
		got := string(mustPut(t, g.admin, connPath+"c1", `{"config":{"team":"blue"},"credentials":{"api_key":"key-2"}}`))
		if !strings.Contains(got, `"post_connection_creation":{"status":"done","attempts":1}`) {
			t.Fatalf("PUT reply %s", got)
		}
		cfg := storedConfig(t, etcd, "prod", "streak", "c1")
		if cfg["streakWebhookToken"] != before["streakWebhookToken"] || cfg["streakWebhookKey"] != before["streakWebhookKey"] || cfg["team"] != "blue" {
			t.Fatalf("after update %v, before %v", cfg, before)
		}
		mustPut(t, g.admin, connPath+"c1", `{"config":{"streakWebhookKey":"wh-manual"},"credentials":{"api_key":"key-2"}}`)
		if cfg := storedConfig(t, etcd, "prod", "streak", "c1"); cfg["streakWebhookKey"] != "wh-manual" || cfg["streakWebhookToken"] != before["streakWebhookToken"] {
			t.Fatalf("a named field is not written: %v", cfg)
		}
		if n := len(api.Creates()); n != 1 {
			t.Fatalf("updates registered %d webhooks", n-1)
		}
	})
	t.Run("created with a token runs no hook", func(t *testing.T) {
		got := string(mustPut(t, g.admin, connPath+"manual", `{"config":{"streakWebhookToken":"tok-manual"}}`))
		if strings.Contains(got, "hooks") {
			t.Fatalf("PUT reply %s has hooks", got)
		}
		if st, reply := sendStreak(t, g.ingress, "tok-manual", "box"); st != 200 {
			t.Fatalf("event: %d %s", st, reply)
		}
		eventually(t, 5*time.Second, "forward to manual", func() bool { return strings.Contains(strings.Join(forwardedTo(t, sink), ","), "manual") })
	})
	t.Run("status and hooks are not written", func(t *testing.T) {
		for _, js := range []string{`{"status":"deleting"}`, `{"hooks":{}}`} {
			if st, b := adminCall(t, g.admin, http.MethodPut, connPath+"x", js); st != 400 {
				t.Errorf("PUT %s: %d %s", js, st, b)
			}
		}
	})
	t.Run("retry of a done hook", func(t *testing.T) {
		st, b := adminCall(t, g.admin, http.MethodPost, connPath+"c1/hooks/post_connection_creation/retry", "")
		if st != 409 || !strings.Contains(string(b), `"code":"conflict"`) {
			t.Fatalf("retry: %d %s", st, b)
		}
		if st, _ := adminCall(t, g.admin, http.MethodPost, connPath+"c1/hooks/pre_connection_deletion/retry", ""); st != 404 {
			t.Fatalf("retry of a hook without a task: %d", st)
		}
	})
	t.Run("force skips the hook", func(t *testing.T) {
		api.SetDown(true)
		defer api.SetDown(false)
		mustPut(t, g.admin, connPath+"c1", `{"config":{"streakWebhookKey":"`+before["streakWebhookKey"]+`"},"credentials":{"api_key":"key-2"}}`)
		if st, b := adminCall(t, g.admin, http.MethodDelete, connPath+"c1", ""); st != 202 {
			t.Fatalf("DELETE: %d %s", st, b)
		}
		if st, b := adminCall(t, g.admin, http.MethodPut, connPath+"c1", `{}`); st != 409 {
			t.Fatalf("PUT of a deleting connection: %d %s", st, b)
		}
		if st, b := adminCall(t, g.admin, http.MethodDelete, connPath+"c1?force=true", ""); st != 204 {
			t.Fatalf("DELETE force: %d %s", st, b)
		}
		if getConn(t, g.admin, connPath+"c1") != nil {
			t.Fatal("still there after a forced delete")
		}
		for _, d := range api.Deletes() {
			if d.Status == 200 {
				t.Fatalf("a forced delete unregistered %s", d.Key)
			}
		}
	})
	t.Run("no hooks without pipeline or team", func(t *testing.T) {
		mustPut(t, g.admin, "prod/integrations/plain", `{"provider":"streak"}`)
		if got := string(mustPut(t, g.admin, "prod/integrations/plain/connections/p1", `{"credentials":{"api_key":"k"}}`)); strings.Contains(got, "hooks") {
			t.Fatalf("PUT reply %s has hooks", got)
		}
		if st, b := adminCall(t, g.admin, http.MethodDelete, "prod/integrations/plain/connections/p1", ""); st != 204 {
			t.Fatalf("DELETE: %d %s", st, b)
		}
	})
}

func TestHookRetryCommand(t *testing.T) {
	method, path, err := adminRequest("hook", []string{"retry", "prod", "streak", "c 1", "post_connection_creation"}, "")
	if err != nil || method != http.MethodPost || path != "/v1/environments/prod/integrations/streak/connections/c%201/hooks/post_connection_creation/retry" {
		t.Fatalf("hook retry → %s %s %v", method, path, err)
	}
	if _, _, err := adminRequest("hook", []string{"run", "prod", "streak", "c1", "x"}, ""); err == nil {
		t.Fatal("hook run accepted")
	}
	if got := reorder([]string{"delete", "prod", "streak", "c1", "-force"}); strings.Join(got, " ") != "-force delete prod streak c1" {
		t.Fatalf("reorder: %q", got)
	}
}
