package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// Secrets and a payload marker the observability tests look for in what
// is exported: none may appear.
const (
	obsIntegSecret = "gh-secret-5b1e0c"
	obsEnvSecret   = "app-secret-9c2d41"
	obsMarker      = "payload-marker-7f3a"
)

// testGateway is one gateway in the test process, wired by the same
// code as `edgehook serve` (parseServe, gatewayProc.start): etcd client,
// cache, spool, hook worker and both listeners on 127.0.0.1. The test can
// stop it, and start another on its data dir.
type testGateway struct {
	ingress, admin string
	stop           func()
}

// startGateway starts a gateway on etcd and dataDir, with 2 s attempts
// retried after 100 ms and 200 ms unless the extra serve flags say
// otherwise.
func startGateway(t *testing.T, etcd []string, dataDir string, extra ...string) *testGateway {
	t.Helper()
	args := append([]string{"--listen", freeAddr(t), "--admin-listen", freeAddr(t),
		"--etcd", strings.Join(etcd, ","), "--data-dir", dataDir, "--allow-private-destinations",
		"--attempt-timeout", "2s", "--retry-schedule", "100ms,200ms"}, extra...)
	fl, err := parseServe(args)
	if err != nil {
		t.Fatal(err)
	}
	logs := new(syncBuffer)
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	p := &gatewayProc{}
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	stop := func() { once.Do(func() { p.close(log); cancel() }) }
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("gateway %s log:\n%s", fl.adminListen, logs)
		}
	})
	if err := p.start(ctx, fl, log); err != nil {
		t.Fatal(err)
	}
	waitReady(t, fl.adminListen)
	return &testGateway{ingress: fl.listen, admin: fl.adminListen, stop: stop}
}

// seed configures environment prod forwarding to url, integration github
// and connection c1 (installation 1001).
func (g *testGateway) seed(t *testing.T, url string) {
	t.Helper()
	mustPut(t, g.admin, "prod", `{"webhook_urls":["`+url+`"],"webhook_secret":"`+obsEnvSecret+`"}`)
	mustPut(t, g.admin, "prod/integrations/github", `{"provider":"github","webhook_secret":"`+obsIntegSecret+`"}`)
	mustPut(t, g.admin, "prod/integrations/github/connections/c1", `{"config":{"installation_id":1001}}`)
}

// sendGitHub posts a GitHub event signed with secret, with a delivery id
// and, unless empty, a traceparent; it returns the status and reply.
func (g *testGateway) sendGitHub(t *testing.T, secret, body, delivery, traceparent string) (int, string) {
	t.Helper()
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	req, _ := http.NewRequest(http.MethodPost, "http://"+g.ingress+"/webhook/prod/github", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
	req.Header.Set("X-GitHub-Event", "issues")
	req.Header.Set("X-GitHub-Delivery", delivery)
	if traceparent != "" {
		req.Header.Set("traceparent", traceparent)
	}
	st, b := roundTrip(t, req)
	return st, string(b)
}

// adminGet reads an admin path (from /v1) and returns the status and body.
func adminGet(t *testing.T, admin, path string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+admin+path, nil)
	return roundTrip(t, req)
}

// spanStore is what an OTLP receiver got: the spans, and every export
// request as its protobuf bytes.
type spanStore struct {
	mu    sync.Mutex
	spans []*tracepb.Span
	raw   [][]byte
}

func (s *spanStore) add(req *coltracepb.ExportTraceServiceRequest, raw []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.raw = append(s.raw, raw)
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			s.spans = append(s.spans, ss.Spans...)
		}
	}
}

// wait returns the spans of trace tid once cond holds for them, failing
// the test after d.
func (s *spanStore) wait(t *testing.T, tid []byte, d time.Duration, what string, cond func([]*tracepb.Span) bool) []*tracepb.Span {
	t.Helper()
	var got []*tracepb.Span
	eventually(t, d, what, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		got = got[:0]
		for _, sp := range s.spans {
			if bytes.Equal(sp.TraceId, tid) {
				got = append(got, sp)
			}
		}
		return cond(got)
	})
	return got
}

// rawContains reports whether any export request holds b.
func (s *spanStore) rawContains(b string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.raw {
		if bytes.Contains(r, []byte(b)) {
			return true
		}
	}
	return false
}

// startHTTPReceiver runs an OTLP/HTTP (protobuf) trace receiver on
// 127.0.0.1 and returns its endpoint (OTEL_EXPORTER_OTLP_ENDPOINT).
func startHTTPReceiver(t *testing.T) (string, *spanStore) {
	t.Helper()
	st := &spanStore{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
			http.NotFound(w, r)
			return
		}
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		raw, err := io.ReadAll(body)
		var req coltracepb.ExportTraceServiceRequest
		if err == nil {
			err = proto.Unmarshal(raw, &req)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		st.add(&req, raw)
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String(), st
}

// grpcTraces is an OTLP/gRPC trace service recording into a spanStore.
type grpcTraces struct {
	coltracepb.UnimplementedTraceServiceServer
	st *spanStore
}

func (g *grpcTraces) Export(_ context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	raw, err := proto.Marshal(req)
	if err != nil {
		return nil, err
	}
	g.st.add(req, raw)
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

// startGRPCReceiver runs an OTLP/gRPC trace receiver on 127.0.0.1 and
// returns its endpoint.
func startGRPCReceiver(t *testing.T) (string, *spanStore) {
	t.Helper()
	st := &spanStore{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(srv, &grpcTraces{st: st})
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return "http://" + ln.Addr().String(), st
}

// byName returns the spans named name.
func byName(spans []*tracepb.Span, name string) []*tracepb.Span {
	var out []*tracepb.Span
	for _, s := range spans {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

// attr returns a span attribute's value as text ("" when absent).
func attr(s *tracepb.Span, key string) string {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			return anyText(kv.Value)
		}
	}
	return ""
}

func anyText(v *commonpb.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_IntValue:
		return strconv.FormatInt(x.IntValue, 10)
	case *commonpb.AnyValue_BoolValue:
		if x.BoolValue {
			return "true"
		}
		return "false"
	}
	return v.String()
}

// scrape reads /metrics with the Prometheus text parser.
func scrape(t *testing.T, admin string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return fams
}

// sample returns the value of family name's series with the given labels
// (a counter's or gauge's value, a histogram's count), and false when the
// family or the series is missing.
func sample(fams map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, lp := range m.Label {
				if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}
