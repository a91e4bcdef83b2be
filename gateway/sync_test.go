package gateway_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgehook/edgehook/internal/testsink"
)

// notify posts a sync notification to environment env of g.
func (g *testGateway) notify(t *testing.T, env, body string) (int, []byte) {
	t.Helper()
	return do(t, "POST", g.admin+"/v1/environments/"+env+"/sync-notifications", []byte(body),
		map[string]string{"Content-Type": "application/json"})
}

const syncSuccess = `{"type":"sync","connectionId":"conn-1","providerConfigKey":"github","syncName":"github-issues",` +
	`"model":"GithubIssue","syncType":"INCREMENTAL","success":true,` +
	`"responseResults":{"added":3,"updated":1,"deleted":0},"modifiedAfter":"2026-01-02T03:04:05.678Z"}`

// accepted posts a sync notification to environment env, expects 202
// and returns its delivery id.
func (g *testGateway) accepted(t *testing.T, env, body string) string {
	t.Helper()
	st, resp := g.notify(t, env, body)
	var out struct{ ID string }
	if st != http.StatusAccepted || json.Unmarshal(resp, &out) != nil || out.ID == "" {
		t.Fatalf("sync notification: %d %s", st, resp)
	}
	return out.ID
}

func legacySig(secret string, body []byte) string {
	h := sha256.Sum256(append([]byte(secret), body...))
	return hex.EncodeToString(h[:])
}

// Acceptance 1: a posted sync notification reaches the app as posted,
// with "from":"nango" first when it had none, and the forward headers.
func TestSyncNotificationDelivered(t *testing.T) {
	g := startGateway(t, startEtcd(t), gwOpts{})
	app, own := newSink(t, nil), newSink(t, nil)
	setupGitHub(t, g, app.URL)
	g.put(t, "prod/integrations/github/connections/conn-own", `{"config":{"installation_id":3003},"webhook_url_override":"`+own.URL+`"}`)

	id := g.accepted(t, "prod", "  "+syncSuccess)
	h := app.Wait(t, 1, 5*time.Second)[0]
	if want := `  {"from":"nango",` + syncSuccess[1:]; string(h.Body) != want {
		t.Fatalf("app got\n%s\nwant\n%s", h.Body, want)
	}
	if sig := h.Header.Get("X-Nango-Hmac-Sha256"); sig != nangoHMAC(appSecret, h.Body) {
		t.Fatalf("X-Nango-Hmac-Sha256 %q does not verify", sig)
	}
	if sig := h.Header.Get("X-Nango-Signature"); sig != legacySig(appSecret, h.Body) {
		t.Fatalf("X-Nango-Signature %q does not verify", sig)
	}
	if h.Header.Get("webhook-id") != id || h.Header.Get("webhook-signature") == "" || h.Header.Get("traceparent") == "" ||
		h.Header.Get("X-Edgehook-Attempt") != "1" || h.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("headers (id %s): %v", id, h.Header)
	}

	// A failure body with its own "from", and an older client's body
	// (results keyed by model, queryTimeStamp), arrive byte for byte.
	failure := `{"from":"my-nango","type":"sync","connectionId":"conn-1","providerConfigKey":"github","syncName":"github-issues",` +
		`"model":"GithubIssue","syncType":"INITIAL","success":false,"error":{"type":"script_error","description":"rate limited"},` +
		`"startedAt":"2026-01-02T03:00:00Z","failedAt":"2026-01-02T03:04:05+01:00","syncVariant":"base"}`
	older := `{"from":"nango","type":"sync","connectionId":"conn-1","providerConfigKey":"github","syncName":"github-issues",` +
		`"model":"GithubIssue","syncType":"INCREMENTAL","success":true,"operation":"INCREMENTAL",` +
		`"responseResults":{"GithubIssue":{"added":1,"updated":0}},"queryTimeStamp":null}`
	g.accepted(t, "prod", failure)
	got := app.Wait(t, 2, 5*time.Second)
	g.accepted(t, "prod", older)
	got = app.Wait(t, 3, 5*time.Second)
	if string(got[1].Body) != failure || string(got[2].Body) != older {
		t.Fatalf("app got\n%s\n%s", got[1].Body, got[2].Body)
	}

	// A connection's webhook_url_override replaces the environment's URLs.
	g.accepted(t, "prod", strings.Replace(syncSuccess, `"conn-1"`, `"conn-own"`, 1))
	if h := own.Wait(t, 1, 5*time.Second)[0]; !bytes.Contains(h.Body, []byte(`"connectionId":"conn-own"`)) {
		t.Fatalf("override got %s", h.Body)
	}
	time.Sleep(100 * time.Millisecond)
	if n := app.Count(); n != 3 {
		t.Fatalf("app got %d notifications, want 3 (the override's went elsewhere)", n)
	}
}

// Acceptance 1: bad bodies are 400 with the error shape, an unknown
// environment 404; nothing is spooled.
func TestSyncNotificationRejects(t *testing.T) {
	g := startGateway(t, startEtcd(t), gwOpts{})
	app := newSink(t, nil)
	setupGitHub(t, g, app.URL)
	set := func(field, value string) string { // syncSuccess with one field replaced, or removed when value is ""
		var m map[string]json.RawMessage
		json.Unmarshal([]byte(syncSuccess), &m)
		if value == "" {
			delete(m, field)
		} else {
			m[field] = json.RawMessage(value)
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	bad := map[string]string{
		"not json":                 `{"type":`,
		"not an object":            `[` + syncSuccess + `]`,
		"trailing data":            syncSuccess + `{}`,
		"unknown field":            set("extra", `1`),
		"no connectionId":          set("connectionId", ""),
		"no providerConfigKey":     set("providerConfigKey", ""),
		"no syncName":              set("syncName", ""),
		"no model":                 set("model", ""),
		"no syncType":              set("syncType", ""),
		"no success":               set("success", ""),
		"connectionId a number":    set("connectionId", `1`),
		"connectionId empty":       set("connectionId", `""`),
		"syncName null":            set("syncName", `null`),
		"success a string":         set("success", `"true"`),
		"syncType unknown":         set("syncType", `"FULL"`),
		"type not sync":            set("type", `"forward"`),
		"from a number":            set("from", `7`),
		"results negative":         set("responseResults", `{"added":-1,"updated":0,"deleted":0}`),
		"results fraction":         set("responseResults", `{"added":1.5,"updated":0,"deleted":0}`),
		"results missing deleted":  set("responseResults", `{"added":1,"updated":0}`),
		"results unknown count":    set("responseResults", `{"added":1,"updated":0,"deleted":0,"moved":2}`),
		"results by model bad":     set("responseResults", `{"Issue":{"added":"1","updated":0}}`),
		"results mixed":            set("responseResults", `{"added":1,"Issue":{"added":1,"updated":0}}`),
		"modifiedAfter not a time": set("modifiedAfter", `"yesterday"`),
		"error on a success":       set("error", `{"type":"x","description":"y"}`),
		"failedAt on a success":    set("failedAt", `"2026-01-02T03:04:05Z"`),
		"unknown integration":      set("providerConfigKey", `"gitlab"`),
		"results on a failure": strings.Replace(set("responseResults", `{"added":1,"updated":0,"deleted":0}`),
			`"success":true`, `"success":false`, 1),
		"error without description": `{"connectionId":"c","providerConfigKey":"github","syncName":"s","model":"M",` +
			`"syncType":"INITIAL","success":false,"error":{"type":"x"}}`,
	}
	for name, body := range bad {
		st, resp := g.notify(t, "prod", body)
		var e struct {
			Error struct{ Code, Message string }
		}
		if st != http.StatusBadRequest || json.Unmarshal(resp, &e) != nil || e.Error.Code != "invalid" || e.Error.Message == "" {
			t.Errorf("%s: %d %s, want 400 with the error shape", name, st, resp)
		}
	}
	st, resp := g.notify(t, "nope", syncSuccess)
	if st != http.StatusNotFound || !bytes.Contains(resp, []byte(`"code":"not_found"`)) {
		t.Errorf("unknown environment: %d %s", st, resp)
	}
	if st, _ := do(t, "GET", g.admin+"/v1/environments/prod/sync-notifications", nil, nil); st != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", st)
	}
	time.Sleep(100 * time.Millisecond)
	if n := app.Count(); n != 0 {
		t.Fatalf("app got %d requests from rejected notifications", n)
	}
}

// Acceptance 1: an app failing twice then succeeding gets exactly one
// success; one failing throughout gets a dead letter, listed and
// retryable through the admin API.
func TestSyncNotificationRetries(t *testing.T) {
	g := startGateway(t, startEtcd(t), gwOpts{})
	var down atomic.Bool
	app := newSink(t, func(n int, _ http.ResponseWriter) int {
		if n <= 2 || down.Load() {
			return 500
		}
		return 200
	})
	setupGitHub(t, g, app.URL)
	id := g.accepted(t, "prod", syncSuccess)
	got := app.Wait(t, 3, 5*time.Second)
	time.Sleep(400 * time.Millisecond) // longer than the whole schedule
	if n := app.Count(); n != 3 {
		t.Fatalf("app got %d requests, want 3 (2 failures, 1 success)", n)
	}
	for i, h := range got {
		if h.Header.Get("webhook-id") != id || h.Header.Get("X-Edgehook-Attempt") != strconv.Itoa(i+1) || !bytes.Equal(h.Body, got[0].Body) {
			t.Errorf("request %d: id %s attempt %s", i+1, h.Header.Get("webhook-id"), h.Header.Get("X-Edgehook-Attempt"))
		}
	}

	down.Store(true)
	id = g.accepted(t, "prod", syncSuccess)
	app.Wait(t, 6, 5*time.Second) // three attempts: the schedule has two retries
	var dead []map[string]any
	eventually(t, 5*time.Second, "dead letter listed", func() bool {
		dead = g.deliveries(t, "dead")
		return len(dead) == 1
	})
	if dead[0]["id"] != id || dead[0]["kind"] != "sync" || dead[0]["status"] != "dead" || dead[0]["sync_name"] != "github-issues" {
		t.Fatalf("dead letter %v", dead[0])
	}
	down.Store(false)
	if st, b := do(t, "POST", g.admin+"/v1/environments/prod/deliveries/"+id+"/retry", nil, nil); st != 200 {
		t.Fatalf("retry: %d %s", st, b)
	}
	if h := app.Wait(t, 7, 5*time.Second)[6]; h.Header.Get("webhook-id") != id || h.Header.Get("X-Edgehook-Attempt") != "4" {
		t.Fatalf("retried request: %v", h.Header)
	}
	eventually(t, 5*time.Second, "nothing left", func() bool { return len(g.deliveries(t, "dead")) == 0 })
}

// eventually polls cond every 10ms, failing the test after d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// runner is a webhook-enabled sync's runner: it records what it gets and
// answers with the reply set last.
type runner struct {
	*testsink.Sink
	reply atomic.Value
}

func newRunner(t *testing.T) *runner {
	r := &runner{}
	r.reply.Store(`{"added":0,"updated":0,"deleted":0}`)
	r.Sink = newSink(t, func(_ int, w http.ResponseWriter) int {
		w.Write([]byte(r.reply.Load().(string)))
		return 0
	})
	return r
}

// sendEvent posts a signed GitHub event of type typ for installation inst.
func sendEvent(t *testing.T, g *testGateway, typ string, inst int, delivery string) []byte {
	t.Helper()
	body := []byte(`{"action":"opened","installation":{"id":` + strconv.Itoa(inst) + `},"issue":{"number":7,"title":"caf\u00e9"}}`)
	h := ghHeaders(ghSecret, body, delivery)
	h["X-GitHub-Event"] = typ
	if st, resp := do(t, "POST", g.ingress+"/webhook/prod/github", body, h); st != 200 {
		t.Fatalf("ingest %s: %d %s", typ, st, resp)
	}
	return body
}

// split sorts an app's requests into forwards and sync webhooks.
func split(t *testing.T, hits []testsink.Hit) (forwards, syncs []testsink.Hit) {
	t.Helper()
	for _, h := range hits {
		var v struct{ Type string }
		json.Unmarshal(h.Body, &v)
		switch v.Type {
		case "forward":
			forwards = append(forwards, h)
		case "sync":
			syncs = append(syncs, h)
		default:
			t.Fatalf("app got %s", h.Body)
		}
	}
	return forwards, syncs
}

var modifiedAfterRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

// Acceptance 2: webhook-enabled syncs.
func TestWebhookEnabledSync(t *testing.T) {
	g := startGateway(t, startEtcd(t), gwOpts{})
	app, run, runAll := newSink(t, nil), newRunner(t), newRunner(t) // runAll answers 0/0/0
	setupGitHub(t, g, app.URL)
	g.put(t, "prod/integrations/github", `{"provider":"github","webhook_secret":"`+ghSecret+`","syncs":[`+
		`{"name":"github-issues","model":"GithubIssue","webhook_subscriptions":["issues"],"runner_url":"`+run.URL+`"},`+
		`{"name":"everything","model":"Event","webhook_subscriptions":["*"],"runner_url":"`+runAll.URL+`"}]}`)
	idle := func() {
		t.Helper()
		eventually(t, 5*time.Second, "deliveries done", func() bool { return len(g.deliveries(t, "pending")) == 0 })
	}

	// An issues event: the runner gets the payload verbatim; its counts
	// become a WEBHOOK sync webhook to the app; the forward arrives.
	run.reply.Store(`{"added":1,"updated":2,"deleted":0}`)
	before := time.Now().UTC().Truncate(time.Millisecond)
	body := sendEvent(t, g, "issues", 1001, "e-1")
	r := run.Wait(t, 1, 5*time.Second)[0]
	want := `{"connectionId":"conn-1","providerConfigKey":"github","syncName":"github-issues","model":"GithubIssue","payload":` + string(body) + `}`
	if string(r.Body) != want {
		t.Fatalf("runner got\n%s\nwant\n%s", r.Body, want)
	}
	if sig := r.Header.Get("X-Nango-Hmac-Sha256"); sig != nangoHMAC(appSecret, r.Body) || r.Header.Get("webhook-id") == "" {
		t.Fatalf("runner headers: %v", r.Header)
	}
	hits := app.Wait(t, 2, 5*time.Second)
	idle()
	fw, sy := split(t, app.Wait(t, 2, time.Second))
	if len(fw) != 1 || len(sy) != 1 || len(hits) != 2 {
		t.Fatalf("app got %d forwards and %d sync webhooks, want 1 and 1", len(fw), len(sy))
	}
	var hook struct {
		From, Type, ConnectionID, ProviderConfigKey, SyncName, Model, SyncType, ModifiedAfter string
		Success                                                                               bool
		ResponseResults                                                                       struct{ Added, Updated, Deleted int }
	}
	dec := json.NewDecoder(bytes.NewReader(sy[0].Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&hook); err != nil {
		t.Fatalf("sync webhook %s: %v", sy[0].Body, err)
	}
	if hook.From != "nango" || hook.Type != "sync" || hook.ConnectionID != "conn-1" || hook.ProviderConfigKey != "github" ||
		hook.SyncName != "github-issues" || hook.Model != "GithubIssue" || hook.SyncType != "WEBHOOK" || !hook.Success ||
		hook.ResponseResults.Added != 1 || hook.ResponseResults.Updated != 2 || hook.ResponseResults.Deleted != 0 {
		t.Fatalf("sync webhook %s", sy[0].Body)
	}
	at, err := time.Parse(time.RFC3339, hook.ModifiedAfter)
	if !modifiedAfterRE.MatchString(hook.ModifiedAfter) || err != nil || at.Before(before) || at.After(r.At) {
		t.Fatalf("modifiedAfter %q is not the event's receive time", hook.ModifiedAfter)
	}
	if sig := sy[0].Header.Get("X-Nango-Hmac-Sha256"); sig != nangoHMAC(appSecret, sy[0].Body) {
		t.Fatalf("sync webhook X-Nango-Hmac-Sha256 %q does not verify", sig)
	}

	// A push event reaches no runner; the forward arrives.
	sendEvent(t, g, "push", 1001, "e-2")
	app.Wait(t, 3, 5*time.Second)
	idle()
	if n := run.Count(); n != 1 {
		t.Fatalf("runner got %d requests, want the push event not among them", n)
	}

	// A 0/0/0 reply sends nothing; the forward arrives.
	run.reply.Store(`{"added":0,"updated":0,"deleted":0}`)
	sendEvent(t, g, "issues", 1001, "e-3")
	run.Wait(t, 2, 5*time.Second)
	app.Wait(t, 4, 5*time.Second)
	idle()
	time.Sleep(100 * time.Millisecond)
	if fw, sy := split(t, app.Wait(t, 4, time.Second)); len(fw) != 3 || len(sy) != 1 {
		t.Fatalf("app got %d forwards and %d sync webhooks, want 3 and 1", len(fw), len(sy))
	}

	// The sync subscribed to "*" got every matched event, an unmatched
	// one goes to no runner.
	sendEvent(t, g, "issues", 9999, "e-4")
	app.Wait(t, 5, 5*time.Second)
	idle()
	if n, all := run.Count(), runAll.Count(); n != 2 || all != 3 {
		t.Fatalf("runners got %d and %d requests, want 2 and 3 (none for the unmatched event)", n, all)
	}
	for _, h := range runAll.Wait(t, 3, time.Second) {
		if !bytes.Contains(h.Body, []byte(`"syncName":"everything","model":"Event"`)) {
			t.Fatalf("runner of * got %s", h.Body)
		}
	}
}

// Acceptance 2: a 2xx runner reply that is not the counts is a dead
// letter with reason invalid_runner_reply, listed and retryable.
func TestInvalidRunnerReply(t *testing.T) {
	g := startGateway(t, startEtcd(t), gwOpts{})
	app, run := newSink(t, nil), newRunner(t)
	setupGitHub(t, g, app.URL)
	g.put(t, "prod/integrations/github", `{"provider":"github","webhook_secret":"`+ghSecret+`","syncs":[`+
		`{"name":"github-issues","model":"GithubIssue","webhook_subscriptions":["iss*"],"runner_url":"`+run.URL+`"}]}`)
	run.reply.Store(`{"ok":true}`)
	sendEvent(t, g, "issues", 1001, "e-1")
	app.Wait(t, 1, 5*time.Second) // the forward
	var dead []map[string]any
	eventually(t, 5*time.Second, "dead letter listed", func() bool {
		dead = g.deliveries(t, "dead")
		return len(dead) == 1
	})
	d := dead[0]
	if d["kind"] != "runner" || d["reason"] != "invalid_runner_reply" || d["sync_name"] != "github-issues" ||
		d["last_status"] != float64(200) || d["attempts"] != float64(1) || d["connection_id"] != "conn-1" {
		t.Fatalf("dead letter %v", d)
	}
	run.reply.Store(`{"added":0,"updated":1,"deleted":0}`)
	if st, b := do(t, "POST", g.admin+"/v1/environments/prod/deliveries/"+d["id"].(string)+"/retry", nil, nil); st != 200 {
		t.Fatalf("retry: %d %s", st, b)
	}
	if r := run.Wait(t, 2, 5*time.Second)[1]; r.Header.Get("X-Edgehook-Attempt") != "2" {
		t.Fatalf("retried runner attempt %q", r.Header.Get("X-Edgehook-Attempt"))
	}
	hits := app.Wait(t, 2, 5*time.Second)
	if _, sy := split(t, hits); len(sy) != 1 || !bytes.Contains(sy[0].Body, []byte(`"responseResults":{"added":0,"updated":1,"deleted":0}`)) {
		t.Fatalf("after the retry the app got %s", hits[len(hits)-1].Body)
	}
	eventually(t, 5*time.Second, "dead letter gone", func() bool { return len(g.deliveries(t, "dead")) == 0 })
}

// With two environment URLs a notification is two deliveries; the answer
// names both.
func TestSyncNotificationTwoURLs(t *testing.T) {
	g := startGateway(t, startEtcd(t), gwOpts{})
	a, b := newSink(t, nil), newSink(t, nil)
	g.put(t, "prod", `{"webhook_urls":["`+a.URL+`","`+b.URL+`"],"webhook_secret":"`+appSecret+`"}`)
	g.put(t, "prod/integrations/github", `{"provider":"github","webhook_secret":"`+ghSecret+`"}`)
	st, resp := g.notify(t, "prod", syncSuccess)
	var out struct {
		ID         string
		Deliveries []string
	}
	if st != http.StatusAccepted || json.Unmarshal(resp, &out) != nil || len(out.Deliveries) != 2 || out.ID != out.Deliveries[0] {
		t.Fatalf("sync notification: %d %s", st, resp)
	}
	for i, s := range []*testsink.Sink{a, b} {
		if h := s.Wait(t, 1, 5*time.Second)[0]; h.Header.Get("webhook-id") != out.Deliveries[i] || string(h.Body) != `{"from":"nango",`+syncSuccess[1:] {
			t.Errorf("app %d got %s with webhook-id %s", i+1, h.Body, h.Header.Get("webhook-id"))
		}
	}
}
