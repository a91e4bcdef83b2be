package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/edgehook/edgehook/internal/testsink"
)

// The provider's trace context the traced events carry.
const (
	providerTrace  = "4bf92f3577b34da6a3ce929d0e0e4736"
	providerParent = "00f067aa0ba902b7"
)

// exportTo points the OTLP exporter at endpoint with protocol, exporting
// every 50 ms.
func exportTo(t *testing.T, endpoint, protocol string) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
	t.Setenv("OTEL_TRACES_SAMPLER", "parentbased_always_on")
}

// Acceptance 1: one signed GitHub event carrying a provider traceparent,
// whose app fails once, gives edgehook.ingress in the provider's trace,
// its verify, route and spool children and two edgehook.attempt spans in
// the same trace, exported by OTLP/HTTP; the app sees each attempt's span
// in its traceparent; nothing exported holds a secret or the payload.
func TestTracesOTLPHTTP(t *testing.T) { testTraces(t, "http/protobuf", startHTTPReceiver) }

// Acceptance 2: the same over OTLP/gRPC.
func TestTracesOTLPGRPC(t *testing.T) { testTraces(t, "grpc", startGRPCReceiver) }

func testTraces(t *testing.T, protocol string, receiver func(*testing.T) (string, *spanStore)) {
	endpoint, spans := receiver(t)
	exportTo(t, endpoint, protocol)
	sink := testsink.New(t, func(n int, _ http.ResponseWriter) int {
		if n == 1 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	g := startGateway(t, hookEtcd(t), t.TempDir())
	g.seed(t, sink.URL)
	body := `{"action":"opened","installation":{"id":1001},"issue":{"title":"` + obsMarker + `"}}`
	st, reply := g.sendGitHub(t, obsIntegSecret, body, "d-traced-1", "00-"+providerTrace+"-"+providerParent+"-01")
	if st != 200 {
		t.Fatalf("ingress: %d %s", st, reply)
	}
	var ack struct{ ID string }
	json.Unmarshal([]byte(reply), &ack)
	hits := sink.Wait(t, 2, 10*time.Second)

	tid, _ := hex.DecodeString(providerTrace)
	got := spans.wait(t, tid, 10*time.Second, "ingress, verify, route, spool and two attempts", func(s []*tracepb.Span) bool {
		return len(byName(s, "edgehook.ingress")) == 1 && len(byName(s, "edgehook.attempt")) == 2 &&
			len(byName(s, "edgehook.verify"))+len(byName(s, "edgehook.route"))+len(byName(s, "edgehook.spool")) == 3
	})
	in := byName(got, "edgehook.ingress")[0]
	if hex.EncodeToString(in.ParentSpanId) != providerParent || in.Kind != tracepb.Span_SPAN_KIND_SERVER {
		t.Fatalf("ingress span: parent %x kind %v, want the provider's %s, server", in.ParentSpanId, in.Kind, providerParent)
	}
	for k, want := range map[string]string{
		"edgehook.environment": "prod", "edgehook.integration": "github", "edgehook.provider": "github",
		"edgehook.event_id": ack.ID, "edgehook.connections": "1", "http.response.status_code": "200",
		"edgehook.outcome": "accepted",
	} {
		if v := attr(in, k); v != want {
			t.Errorf("ingress %s = %q, want %q", k, v, want)
		}
	}
	for _, name := range []string{"edgehook.verify", "edgehook.route", "edgehook.spool"} {
		if c := byName(got, name)[0]; !bytes.Equal(c.ParentSpanId, in.SpanId) {
			t.Errorf("%s: parent %x, want the ingress span %x", name, c.ParentSpanId, in.SpanId)
		}
	}
	attempts := map[string]*tracepb.Span{}
	for _, a := range byName(got, "edgehook.attempt") {
		if !bytes.Equal(a.ParentSpanId, in.SpanId) || a.Kind != tracepb.Span_SPAN_KIND_CLIENT {
			t.Errorf("attempt %s: parent %x kind %v, want the ingress span, client", attr(a, "edgehook.attempt"), a.ParentSpanId, a.Kind)
		}
		attempts[attr(a, "edgehook.attempt")] = a
	}
	for n, want := range map[string][2]string{"1": {"503", "retried"}, "2": {"200", "delivered"}} {
		a := attempts[n]
		if a == nil {
			t.Fatalf("no span of attempt %s", n)
		}
		if attr(a, "http.response.status_code") != want[0] || attr(a, "edgehook.outcome") != want[1] ||
			attr(a, "edgehook.event_id") != ack.ID || attr(a, "edgehook.delivery_id") == "" ||
			attr(a, "server.address") != "127.0.0.1" || attr(a, "edgehook.environment") != "prod" {
			t.Errorf("attempt %s attributes %v", n, a.Attributes)
		}
	}
	for _, h := range hits {
		a := attempts[h.Header.Get("X-Edgehook-Attempt")]
		want := "00-" + providerTrace + "-" + hex.EncodeToString(a.GetSpanId()) + "-01"
		if tp := h.Header.Get("traceparent"); a == nil || tp != want {
			t.Errorf("attempt %s: the app got traceparent %q, want %q", h.Header.Get("X-Edgehook-Attempt"), tp, want)
		}
	}
	for _, secret := range []string{obsIntegSecret, obsEnvSecret, obsMarker, body} {
		if spans.rawContains(secret) {
			t.Errorf("the exported spans hold %q", secret)
		}
	}
}

// An attempt made after a restart joins the trace of its event: the
// trace context is stored with the delivery.
func TestTraceJoinedAfterRestart(t *testing.T) {
	endpoint, spans := startHTTPReceiver(t)
	exportTo(t, endpoint, "http/protobuf")
	sink := testsink.New(t, func(n int, _ http.ResponseWriter) int {
		if n == 1 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	etcd, dir := hookEtcd(t), t.TempDir()
	g := startGateway(t, etcd, dir, "--retry-schedule", "1s")
	g.seed(t, sink.URL)
	if st, reply := g.sendGitHub(t, obsIntegSecret, `{"installation":{"id":1001}}`, "d-restart-1",
		"00-"+providerTrace+"-"+providerParent+"-01"); st != 200 {
		t.Fatalf("ingress: %d %s", st, reply)
	}
	sink.Wait(t, 1, 10*time.Second)
	g.stop() // the retry is due in about a second: it is made by the next process
	tid, _ := hex.DecodeString(providerTrace)
	first := spans.wait(t, tid, 5*time.Second, "the first process's spans", func(s []*tracepb.Span) bool {
		return len(byName(s, "edgehook.ingress")) == 1 && len(byName(s, "edgehook.attempt")) == 1
	})
	if sink.Count() != 1 {
		t.Fatalf("the app got %d requests before the restart, want 1", sink.Count())
	}
	ingressID := byName(first, "edgehook.ingress")[0].SpanId
	startGateway(t, etcd, dir, "--retry-schedule", "1s")
	hits := sink.Wait(t, 2, 10*time.Second)
	got := spans.wait(t, tid, 10*time.Second, "the second attempt's span", func(s []*tracepb.Span) bool {
		return len(byName(s, "edgehook.attempt")) == 2
	})
	for _, a := range byName(got, "edgehook.attempt") {
		if attr(a, "edgehook.attempt") != "2" {
			continue
		}
		if !bytes.Equal(a.ParentSpanId, ingressID) || attr(a, "edgehook.outcome") != "delivered" {
			t.Fatalf("attempt 2 after the restart: parent %x outcome %q, want the ingress span %x", a.ParentSpanId, attr(a, "edgehook.outcome"), ingressID)
		}
		if tp := hits[1].Header.Get("traceparent"); !strings.Contains(tp, hex.EncodeToString(a.SpanId)) {
			t.Fatalf("the app got traceparent %q, want attempt 2's span %x", tp, a.SpanId)
		}
	}
}

// Acceptance 3: after a scripted mix (accepted, duplicate, unauthorized,
// unmatched, unknown integration, a dead letter), /metrics shows each
// SPEC §10 family with the expected counts, and no label value is a
// connection id, an event id or a host.
func TestMetrics(t *testing.T) {
	app := testsink.New(t, nil)
	down := testsink.New(t, func(int, http.ResponseWriter) int { return http.StatusInternalServerError })
	g := startGateway(t, hookEtcd(t), t.TempDir())
	g.seed(t, app.URL)
	mustPut(t, g.admin, "prod/integrations/github/connections/c2", `{"config":{"installation_id":2002},"webhook_url_override":"`+down.URL+`"}`)
	var ids []string
	send := func(secret, body, delivery string, want int, dup bool) {
		t.Helper()
		st, reply := g.sendGitHub(t, secret, body, delivery, "")
		if st != want || strings.Contains(reply, `"duplicate":true`) != dup {
			t.Fatalf("%s: %d %s, want %d (duplicate %v)", delivery, st, reply, want, dup)
		}
		var r struct{ ID string }
		if json.Unmarshal([]byte(reply), &r) == nil && r.ID != "" {
			ids = append(ids, r.ID)
		}
	}
	send(obsIntegSecret, `{"installation":{"id":1001}}`, "m-1", 200, false)
	app.Wait(t, 1, 10*time.Second)
	send(obsIntegSecret, `{"installation":{"id":1001}}`, "m-1", 200, true)  // duplicate
	send("wrong-secret", `{"installation":{"id":1001}}`, "m-2", 401, false) // unauthorized
	send(obsIntegSecret, `{"installation":{"id":9999}}`, "m-3", 200, false) // unmatched, forwarded
	app.Wait(t, 2, 10*time.Second)
	send(obsIntegSecret, `{"installation":{"id":2002}}`, "m-4", 200, false) // to c2's failing app
	req, _ := http.NewRequest(http.MethodPost, "http://"+g.ingress+"/webhook/prod/nope", strings.NewReader("{}"))
	if st, _ := roundTrip(t, req); st != 404 {
		t.Fatalf("unknown integration: %d", st)
	}
	eventually(t, 10*time.Second, "a dead letter", func() bool {
		_, b := adminGet(t, g.admin, "/v1/environments/prod/deliveries?status=dead")
		return strings.Count(string(b), `"id":`) == 1
	})

	fams := scrape(t, g.admin)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"edgehook_ingress_requests_total", []string{"provider", "github", "outcome", "accepted"}, 3},
		{"edgehook_ingress_requests_total", []string{"provider", "github", "outcome", "duplicate"}, 1},
		{"edgehook_ingress_requests_total", []string{"provider", "github", "outcome", "unauthorized"}, 1},
		{"edgehook_ingress_requests_total", []string{"provider", "github", "outcome", "handshake"}, 0},
		{"edgehook_ingress_requests_total", []string{"provider", "unknown", "outcome", "not_found"}, 1},
		{"edgehook_ingress_duration_seconds", []string{"provider", "github"}, 5},
		{"edgehook_events_routed_total", []string{"provider", "github", "result", "matched"}, 2},
		{"edgehook_events_routed_total", []string{"provider", "github", "result", "unmatched_forwarded"}, 1},
		{"edgehook_events_routed_total", []string{"provider", "github", "result", "unmatched_dropped"}, 0},
		{"edgehook_spool_pending", nil, 0},
		{"edgehook_spool_dead", nil, 1},
		{"edgehook_spool_commit_duration_seconds", nil, 3},
		{"edgehook_deliveries_total", []string{"kind", "forward", "outcome", "delivered"}, 2},
		{"edgehook_deliveries_total", []string{"kind", "forward", "outcome", "retried"}, 2},
		{"edgehook_deliveries_total", []string{"kind", "forward", "outcome", "dead"}, 1},
		{"edgehook_deliveries_total", []string{"kind", "forward", "outcome", "gone"}, 0},
		{"edgehook_deliveries_total", []string{"kind", "runner", "outcome", "delivered"}, 0},
		{"edgehook_delivery_attempt_duration_seconds", []string{"kind", "forward"}, 5},
		{"edgehook_pool_capacity", nil, 256},
		{"edgehook_hook_tasks", []string{"status", "pending"}, 0},
		{"edgehook_hook_tasks", []string{"status", "failed"}, 0},
		{"edgehook_config_watch_resyncs_total", nil, 0},
	} {
		if v, ok := sample(fams, c.name, c.labels...); !ok || v != c.want {
			t.Errorf("%s%v = %v (found %v), want %v", c.name, c.labels, v, ok, c.want)
		}
	}
	for _, name := range []string{"edgehook_config_cache_hits_total", "edgehook_config_cache_misses_total"} {
		if v, ok := sample(fams, name); !ok || v < 1 {
			t.Errorf("%s = %v (found %v), want > 0", name, v, ok)
		}
	}
	if v, ok := sample(fams, "edgehook_pool_running"); !ok || v < 0 || v > 256 {
		t.Errorf("edgehook_pool_running = %v (found %v)", v, ok)
	}
	dests := 0.0
	for _, st := range []string{"closed", "open", "half_open"} {
		v, ok := sample(fams, "edgehook_destinations", "state", st)
		if !ok {
			t.Errorf("edgehook_destinations{state=%q} missing", st)
		}
		dests += v
	}
	if dests > 2 {
		t.Errorf("edgehook_destinations counts %v destinations, want at most 2", dests)
	}
	forbidden := append([]string{"c1", "c2", "127.0.0.1", "localhost"}, ids...)
	for name, f := range fams {
		if !strings.HasPrefix(name, "edgehook_") {
			continue
		}
		for _, m := range f.Metric {
			for _, lp := range m.Label {
				for _, bad := range forbidden {
					if strings.Contains(lp.GetValue(), bad) {
						t.Errorf("%s has label %s=%q", name, lp.GetName(), lp.GetValue())
					}
				}
			}
		}
	}
}

// detail is a delivery as GET …/deliveries/{id} shows it.
type detail struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	Attempts    int    `json:"attempts"`
	Destination string `json:"destination"`
	Kind        string `json:"kind"`
	LastStatus  int    `json:"last_status"`
	LastError   string `json:"last_error"`
	Reason      string `json:"reason"`
	NextAttempt string `json:"next_attempt"`
	History     []struct {
		Number   int     `json:"number"`
		At       string  `json:"at"`
		Duration float64 `json:"duration_seconds"`
		Status   int     `json:"status"`
		Error    string  `json:"error"`
	} `json:"attempts_history"`
}

func getDelivery(t *testing.T, admin, id string) (int, *detail) {
	t.Helper()
	st, b := adminGet(t, admin, "/v1/environments/prod/deliveries/"+id)
	var d detail
	if st == 200 {
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("delivery %s: %s: %v", id, b, err)
		}
	}
	return st, &d
}

// Acceptance 4: a delivery whose app fails twice with 503 shows both
// attempts through the inspection endpoint while its third is in flight,
// and the destination listing shows it pending and in flight; once it
// succeeds it is gone. A dead letter shows all its attempts and its last
// error.
func TestDeliveryInspection(t *testing.T) {
	release := make(chan struct{})
	app := testsink.New(t, func(n int, _ http.ResponseWriter) int {
		if n < 3 {
			return http.StatusServiceUnavailable
		}
		<-release
		return http.StatusOK
	})
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	down := testsink.New(t, func(int, http.ResponseWriter) int { return http.StatusInternalServerError })
	g := startGateway(t, hookEtcd(t), t.TempDir())
	g.seed(t, app.URL)
	mustPut(t, g.admin, "prod/integrations/github/connections/c2", `{"config":{"installation_id":2002},"webhook_url_override":"`+down.URL+`"}`)
	g.sendGitHub(t, obsIntegSecret, `{"installation":{"id":1001}}`, "i-1", "")
	hits := app.Wait(t, 3, 10*time.Second) // the third waits for release
	id := hits[0].Header.Get("webhook-id")
	var d *detail
	eventually(t, 5*time.Second, "both failed attempts recorded", func() bool {
		_, d = getDelivery(t, g.admin, id)
		return d.Attempts == 2
	})
	if d.Status != "pending" || d.Kind != "forward" || len(d.History) != 2 || d.LastStatus != 503 || d.LastError != "HTTP 503" ||
		!strings.HasPrefix(d.Destination, "http://127.0.0.1:") {
		t.Fatalf("pending delivery: %+v", d)
	}
	for i, a := range d.History {
		if a.Number != i+1 || a.Status != 503 || a.Duration <= 0 || a.At == "" {
			t.Fatalf("attempt %d: %+v", i+1, a)
		}
	}
	_, b := adminGet(t, g.admin, "/v1/destinations")
	var dl struct {
		Destinations []struct {
			Destination string `json:"destination"`
			State       string `json:"state"`
			Pending     int64  `json:"pending"`
			InFlight    int    `json:"in_flight"`
			LastError   string `json:"last_error"`
		} `json:"destinations"`
	}
	if err := json.Unmarshal(b, &dl); err != nil {
		t.Fatalf("destinations %s: %v", b, err)
	}
	found := false
	for _, x := range dl.Destinations {
		if x.Destination == d.Destination {
			found = true
			if x.State != "closed" || x.Pending != 1 || x.InFlight != 1 || x.LastError != "HTTP 503" {
				t.Fatalf("destination %+v", x)
			}
		}
	}
	if !found {
		t.Fatalf("destination %s not listed: %s", d.Destination, b)
	}
	close(release)
	eventually(t, 5*time.Second, "the delivered delivery shown as delivered (the journal)", func() bool {
		st, d := getDelivery(t, g.admin, id)
		return st == 200 && d.Status == "delivered" && d.Attempts == 3 && len(d.History) == 3 && d.History[2].Status == 200
	})

	g.sendGitHub(t, obsIntegSecret, `{"installation":{"id":2002}}`, "i-2", "")
	dead := down.Wait(t, 3, 10*time.Second)
	var dd *detail
	eventually(t, 5*time.Second, "the dead letter", func() bool {
		_, dd = getDelivery(t, g.admin, dead[0].Header.Get("webhook-id"))
		return dd.Status == "dead"
	})
	if dd.Attempts != 3 || len(dd.History) != 3 || dd.LastStatus != 500 || dd.LastError != "HTTP 500" ||
		dd.Reason != "retry schedule exhausted" || dd.NextAttempt != "" {
		t.Fatalf("dead letter: %+v", dd)
	}
	for i, a := range dd.History {
		if a.Number != i+1 || a.Status != 500 {
			t.Fatalf("dead letter attempt %d: %+v", i+1, a)
		}
	}
	if st, _ := getDelivery(t, g.admin, "nope"); st != 404 {
		t.Fatalf("unknown delivery: %d", st)
	}
}

// The admin lists page with limit and after, and mask secrets.
func TestAdminLists(t *testing.T) {
	g := startGateway(t, hookEtcd(t), t.TempDir())
	g.seed(t, "http://127.0.0.1:1/hook")
	mustPut(t, g.admin, "staging", `{"webhook_secret":"s2"}`)
	for i := 2; i <= 3; i++ {
		mustPut(t, g.admin, "prod/integrations/github/connections/c"+strconv.Itoa(i), `{"config":{"installation_id":`+strconv.Itoa(i)+`},"credentials":{"token":"tok"}}`)
	}
	list := func(path string) map[string]json.RawMessage {
		t.Helper()
		st, b := adminGet(t, g.admin, path)
		var out map[string]json.RawMessage
		if st != 200 || json.Unmarshal(b, &out) != nil {
			t.Fatalf("GET %s: %d %s", path, st, b)
		}
		return out
	}
	envs := list("/v1/environments")
	if s := string(envs["environments"]); !strings.Contains(s, `"name":"prod"`) || !strings.Contains(s, `"name":"staging"`) ||
		strings.Contains(s, obsEnvSecret) || strings.Contains(s, `"s2"`) || envs["next_after"] != nil {
		t.Fatalf("environments: %s", envs["environments"])
	}
	igs := list("/v1/environments/prod/integrations")
	if s := string(igs["integrations"]); !strings.Contains(s, `"name":"github","provider":"github"`) || strings.Contains(s, obsIntegSecret) {
		t.Fatalf("integrations: %s", s)
	}
	p1 := list("/v1/environments/prod/integrations/github/connections?limit=2")
	if s := string(p1["connections"]); !strings.Contains(s, `"connection_id":"c1"`) || !strings.Contains(s, `"connection_id":"c2"`) ||
		strings.Contains(s, `"c3"`) || strings.Contains(s, `"tok"`) || string(p1["next_after"]) != `"c2"` {
		t.Fatalf("connections page 1: %s next %s", s, p1["next_after"])
	}
	p2 := list("/v1/environments/prod/integrations/github/connections?limit=2&after=c2")
	if s := string(p2["connections"]); !strings.Contains(s, `"connection_id":"c3"`) || strings.Contains(s, `"c1"`) || p2["next_after"] != nil {
		t.Fatalf("connections page 2: %s next %s", s, p2["next_after"])
	}
	if st, _ := adminGet(t, g.admin, "/v1/environments/nope/integrations"); st != 404 {
		t.Fatalf("integrations of an unknown environment: %d", st)
	}
}

func TestAdminRequestLists(t *testing.T) {
	for _, c := range []struct {
		cmd    string
		args   []string
		method string
		path   string
	}{
		{"env", []string{"list"}, "GET", "/v1/environments"},
		{"integration", []string{"list", "prod"}, "GET", "/v1/environments/prod/integrations"},
		{"connection", []string{"list", "prod", "github"}, "GET", "/v1/environments/prod/integrations/github/connections"},
		{"delivery", []string{"prod", "abc"}, "GET", "/v1/environments/prod/deliveries/abc"},
		{"destinations", nil, "GET", "/v1/destinations"},
	} {
		m, p, err := adminRequest(c.cmd, c.args, "dead")
		if err != nil || m != c.method || p != c.path {
			t.Errorf("%s %v: %s %s %v, want %s %s", c.cmd, c.args, m, p, err, c.method, c.path)
		}
	}
	for _, c := range [][]string{{"env", "list", "x"}, {"connection", "list", "prod"}, {"delivery", "prod"}, {"destinations", "x"}} {
		if _, _, err := adminRequest(c[0], c[1:], "dead"); err == nil {
			t.Errorf("%v: no error", c)
		}
	}
}
