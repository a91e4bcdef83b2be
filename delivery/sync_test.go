package delivery

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgehook/edgehook/delivery/spool"
	"github.com/edgehook/edgehook/internal/testsink"
)

func TestParseRunnerReply(t *testing.T) {
	good := map[string]counts{
		`{"added":1,"updated":2,"deleted":0}`:                   {1, 2, 0},
		` {"deleted":3,"added":0,"updated":0,"note":"x"} `:      {0, 0, 3},
		`{"added":0,"updated":0,"deleted":0}`:                   {},
		`{"added":9223372036854775807,"updated":0,"deleted":0}`: {1<<63 - 1, 0, 0},
	}
	for in, want := range good {
		if got, err := parseRunnerReply([]byte(in)); err != nil || got != want {
			t.Errorf("parseRunnerReply(%s) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{
		``, `null`, `[]`, `"ok"`, `{}`, `OK`,
		`{"added":1,"updated":2}`,
		`{"added":-1,"updated":0,"deleted":0}`,
		`{"added":1.0,"updated":0,"deleted":0}`,
		`{"added":1e2,"updated":0,"deleted":0}`,
		`{"added":"1","updated":0,"deleted":0}`,
		`{"added":null,"updated":0,"deleted":0}`,
		`{"added":9223372036854775808,"updated":0,"deleted":0}`,
		`{"added":1,"updated":0,"deleted":0}{}`,
		`{"added":1,"updated":0,"deleted":0`,
	} {
		if got, err := parseRunnerReply([]byte(in)); err == nil {
			t.Errorf("parseRunnerReply(%s) = %+v, want an error", in, got)
		}
	}
}

func TestAppendSyncWebhook(t *testing.T) {
	received := time.Date(2026, 3, 4, 5, 6, 7, 891234567, time.FixedZone("x", 3600))
	got := appendSyncWebhook(nil, "github", "conn-\"1\"", "issues", "Issue", counts{1, 2, 0}, received)
	want := `{"from":"nango","type":"sync","connectionId":"conn-\"1\"","providerConfigKey":"github",` +
		`"syncName":"issues","model":"Issue","syncType":"WEBHOOK","success":true,` +
		`"responseResults":{"added":1,"updated":2,"deleted":0},"modifiedAfter":"2026-03-04T04:06:07.891Z"}`
	if string(got) != want {
		t.Fatalf("sync webhook\n got %s\nwant %s", got, want)
	}
}

// runnerEvent is an event for connection conn-1 with one runner delivery
// to runner (sync "issues", model "Issue").
func runnerEvent(payload, runner string) *Event {
	return &Event{Env: "prod", Integration: "github", Provider: "github", Parts: [][]byte{[]byte(payload)},
		Targets: []Target{{Kind: spool.KindRunner, ConnectionID: "conn-1", URL: runner, SyncName: "issues", Model: "Issue"}}}
}

// A runner delivery carries the runner envelope; the runner's counts
// become one sync webhook per app URL; zero counts send nothing.
func TestRunnerReplyMakesSyncWebhooks(t *testing.T) {
	var reply atomic.Value
	runner := newSink(t, func(_ int, w http.ResponseWriter) int {
		io.WriteString(w, reply.Load().(string))
		return 0
	})
	app1, app2 := newSink(t, nil), newSink(t, nil)
	s := newTestService(t, Options{AppURLs: func(env, integ, conn string) ([]string, error) {
		if env != "prod" || integ != "github" || conn != "conn-1" {
			t.Errorf("AppURLs(%s, %s, %s)", env, integ, conn)
		}
		return []string{app1.URL, app2.URL}, nil
	}})

	reply.Store(`{"added":0,"updated":0,"deleted":0}`)
	accept(t, s, runnerEvent(`{"n":0}`, runner.URL))
	hits := runner.Wait(t, 1, 5*time.Second)
	wantBody := `{"connectionId":"conn-1","providerConfigKey":"github","syncName":"issues","model":"Issue","payload":{"n":0}}`
	if string(hits[0].Body) != wantBody {
		t.Fatalf("runner got %s, want %s", hits[0].Body, wantBody)
	}
	eventually(t, 5*time.Second, "runner delivery done", func() bool { return s.Stats().Pending == 0 })

	reply.Store(`{"added":1,"updated":2,"deleted":0,"took_ms":12}`)
	before := time.Now()
	accept(t, s, runnerEvent(`{"n":1}`, runner.URL))
	for i, app := range [...]*testsink.Sink{app1, app2} {
		h := app.Wait(t, 1, 5*time.Second)[0]
		var body struct {
			From, Type, ConnectionID, ProviderConfigKey, SyncName, Model, SyncType, ModifiedAfter string
			Success                                                                               bool
			ResponseResults                                                                       map[string]int
		}
		if err := json.Unmarshal(h.Body, &body); err != nil {
			t.Fatalf("app %d got %s: %v", i+1, h.Body, err)
		}
		if body.From != "nango" || body.Type != "sync" || body.SyncType != "WEBHOOK" || !body.Success ||
			body.ConnectionID != "conn-1" || body.SyncName != "issues" || body.Model != "Issue" ||
			body.ResponseResults["added"] != 1 || body.ResponseResults["updated"] != 2 || body.ResponseResults["deleted"] != 0 {
			t.Errorf("app %d got %s", i+1, h.Body)
		}
		at, err := time.Parse(time.RFC3339, body.ModifiedAfter)
		if err != nil || at.Before(before.Add(-time.Millisecond)) || at.After(time.Now()) {
			t.Errorf("modifiedAfter %q is not the event's receive time (%v)", body.ModifiedAfter, err)
		}
		if h.Header.Get("X-Nango-Hmac-Sha256") == "" || h.Header.Get("webhook-id") == "" {
			t.Errorf("app %d: sync webhook without the forward headers: %v", i+1, h.Header)
		}
	}
	eventually(t, 5*time.Second, "all done", func() bool { return s.Stats().Pending == 0 })
	time.Sleep(50 * time.Millisecond)
	if n1, n2 := app1.Count(), app2.Count(); n1 != 1 || n2 != 1 {
		t.Fatalf("apps got %d and %d sync webhooks, want 1 each (none for the zero reply)", n1, n2)
	}
}

// A 2xx runner reply that is not the counts dead-letters the delivery
// with reason invalid_runner_reply; a retry sends it to the runner again.
func TestInvalidRunnerReplyIsDeadLetter(t *testing.T) {
	var n atomic.Int64
	runner := newSink(t, func(i int, w http.ResponseWriter) int {
		n.Store(int64(i))
		if i == 1 {
			io.WriteString(w, `OK`)
		} else {
			io.WriteString(w, `{"added":0,"updated":0,"deleted":0}`)
		}
		return 0
	})
	app := newSink(t, nil)
	s := newTestService(t, Options{AppURLs: func(string, string, string) ([]string, error) { return []string{app.URL}, nil }})
	accept(t, s, runnerEvent(`{}`, runner.URL))
	var dead []Info
	eventually(t, 5*time.Second, "dead letter listed", func() bool {
		dead, _, _ = s.List("prod", Query{Status: "dead", Limit: 10})
		return len(dead) == 1
	})
	if d := dead[0]; d.Kind != "runner" || d.Reason != ReasonInvalidRunnerReply || d.Attempts != 1 || d.LastStatus != 200 ||
		!strings.Contains(d.LastError, "runner reply") || d.SyncName != "issues" {
		t.Fatalf("dead letter %+v", d)
	}
	if err := s.Retry("prod", dead[0].ID); err != nil {
		t.Fatal(err)
	}
	runner.Wait(t, 2, 5*time.Second)
	eventually(t, 5*time.Second, "retried delivery done", func() bool { return s.Stats().Pending == 0 && s.Stats().Dead == 0 })
	if app.Count() != 0 {
		t.Fatalf("app got %d requests", app.Count())
	}
}

// A runner reply body over the 1 MiB read is not read: it is invalid,
// even when what it starts with would be the counts.
func TestOversizedRunnerReplyIsInvalid(t *testing.T) {
	reply := `{"added":1,"updated":0,"deleted":0}` + strings.Repeat(" ", 2<<20)
	runner := newSink(t, func(_ int, w http.ResponseWriter) int {
		io.WriteString(w, reply)
		return 0
	})
	app := newSink(t, nil)
	s := newTestService(t, Options{AppURLs: func(string, string, string) ([]string, error) { return []string{app.URL}, nil }})
	accept(t, s, runnerEvent(`{}`, runner.URL))
	eventually(t, 5*time.Second, "dead letter listed", func() bool {
		dead, _, _ := s.List("prod", Query{Status: "dead", Limit: 10})
		return len(dead) == 1 && dead[0].Reason == ReasonInvalidRunnerReply
	})
	if app.Count() != 0 {
		t.Fatalf("app got %d requests", app.Count())
	}
}

// When the app URLs cannot be read, the runner is not called: that is a
// failure of ours, and the delivery waits.
func TestRunnerWaitsForAppURLs(t *testing.T) {
	var broken atomic.Bool
	broken.Store(true)
	runner := newSink(t, func(_ int, w http.ResponseWriter) int {
		io.WriteString(w, `{"added":1,"updated":0,"deleted":0}`)
		return 0
	})
	app := newSink(t, nil)
	s := newTestService(t, Options{LocalRetry: 50 * time.Millisecond, AppURLs: func(string, string, string) ([]string, error) {
		if broken.Load() {
			return nil, errors.New("etcd unavailable")
		}
		return []string{app.URL}, nil
	}})
	accept(t, s, runnerEvent(`{}`, runner.URL))
	time.Sleep(300 * time.Millisecond)
	if runner.Count() != 0 {
		t.Fatalf("runner called %d times while the app URLs were unknown", runner.Count())
	}
	broken.Store(false)
	runner.Wait(t, 1, 5*time.Second)
	app.Wait(t, 1, 5*time.Second)
}

func FuzzRunnerReply(f *testing.F) {
	for _, s := range []string{`{"added":1,"updated":2,"deleted":0}`, `{"added":0,"updated":0,"deleted":0,"x":[1]}`, `{"added":1.5}`, `[]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseRunnerReply(b)
		if err != nil {
			return
		}
		out := appendSyncWebhook(nil, "i", "c", "s", "m", c, time.Unix(0, 0))
		var v struct {
			ResponseResults counts `json:"responseResults"`
		}
		if err := json.Unmarshal(out, &v); err != nil || v.ResponseResults != c {
			t.Fatalf("reply %q made %s (%v)", b, out, err)
		}
	})
}

func BenchmarkParseRunnerReply(b *testing.B) {
	reply := []byte(`{"added":1,"updated":2,"deleted":0}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseRunnerReply(reply); err != nil {
			b.Fatal(err)
		}
	}
}
