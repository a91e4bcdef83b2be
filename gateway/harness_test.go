package gateway_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/edgehook/edgehook/config"
	"github.com/edgehook/edgehook/delivery"
	"github.com/edgehook/edgehook/gateway"
	"github.com/edgehook/edgehook/plugins"
	"github.com/edgehook/edgehook/plugins/provider"
)

// startEtcd starts an embedded etcd for the test and returns its endpoints.
func startEtcd(t *testing.T) []string {
	t.Helper()
	emb, err := config.StartEmbedded(filepath.Join(t.TempDir(), "etcd"), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Close)
	return emb.Endpoints()
}

// testGateway is one real gateway: etcd client, cache, spool and both
// listeners on 127.0.0.1.
type testGateway struct {
	ingress, admin string
	svc            *delivery.Service
}

type gwOpts struct {
	schedule   []time.Duration
	maxPending int
	maxBody    int64
	adminToken string
}

func startGateway(t *testing.T, endpoints []string, o gwOpts) *testGateway {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	reg, err := provider.NewRegistry(plugins.All())
	if err != nil {
		t.Fatal(err)
	}
	store := config.NewStore(cli, "/edgehook", reg.Provision)
	cache := config.NewCache(cli, "/edgehook", reg.Provision, config.CacheOptions{Logger: log})
	if err := cache.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cache.Close)
	if o.schedule == nil {
		o.schedule = []time.Duration{50 * time.Millisecond, 100 * time.Millisecond}
	}
	if o.maxBody == 0 {
		o.maxBody = 1 << 20
	}
	svc, err := delivery.New(delivery.Options{
		Dir:            filepath.Join(t.TempDir(), "spool"),
		Workers:        64,
		Schedule:       o.schedule,
		AttemptTimeout: 2 * time.Second,
		AllowPrivate:   true,
		MaxPending:     o.maxPending,
		Logger:         log,
		Secret: func(env string) (string, error) {
			e, err := cache.Environment(ctx, []byte(env))
			if err != nil {
				return "", err
			}
			return e.Secret, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	svc.Start()
	t.Cleanup(svc.Close)
	gw := gateway.New(gateway.Options{MaxBody: o.maxBody, AdminToken: o.adminToken, Logger: log}, cache, store, svc, reg.SecretConfigFields)
	in, ad := listen(t), listen(t)
	go gw.ServeIngress(in)
	go gw.ServeAdmin(ad)
	t.Cleanup(func() { gw.Shutdown() })
	return &testGateway{ingress: "http://" + in.Addr().String(), admin: "http://" + ad.Addr().String(), svc: svc}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// do sends a request and returns the status and body.
func do(t *testing.T, method, url string, body []byte, header map[string]string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// put writes a configuration object through the admin API.
func (g *testGateway) put(t *testing.T, path, body string) {
	t.Helper()
	if st, b := do(t, http.MethodPut, g.admin+"/v1/environments/"+path, []byte(body), nil); st != 200 {
		t.Fatalf("PUT %s: %d %s", path, st, b)
	}
}

// received is one forward a sink got.
type received struct {
	header http.Header
	body   []byte
	at     time.Time
}

// sink is a real HTTP server on 127.0.0.1 recording what it receives and
// answering with status(n) for the n-th request (from 1).
type sink struct {
	url    string
	mu     sync.Mutex
	got    []received
	status func(n int, w http.ResponseWriter) int
	notify chan struct{}
	// onBody, when set before traffic starts, sees each body on arrival.
	onBody func(b []byte)
}

func newSink(t *testing.T, status func(n int, w http.ResponseWriter) int) *sink {
	t.Helper()
	s := &sink{status: status, notify: make(chan struct{}, 1024)}
	ln := listen(t)
	srv := &http.Server{Handler: s}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	s.url = "http://" + ln.Addr().String() + "/hook"
	return s
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	if s.onBody != nil {
		s.onBody(b)
	}
	s.mu.Lock()
	s.got = append(s.got, received{header: r.Header.Clone(), body: b, at: time.Now()})
	n := len(s.got)
	s.mu.Unlock()
	code := 200
	if s.status != nil {
		code = s.status(n, w)
	}
	w.WriteHeader(code)
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// wait returns the first n requests, failing after timeout.
func (s *sink) wait(t *testing.T, n int, timeout time.Duration) []received {
	t.Helper()
	deadline := time.After(timeout)
	for {
		s.mu.Lock()
		if len(s.got) >= n {
			out := append([]received(nil), s.got...)
			s.mu.Unlock()
			return out
		}
		s.mu.Unlock()
		select {
		case <-s.notify:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			s.mu.Lock()
			defer s.mu.Unlock()
			t.Fatalf("sink got %d requests, want %d", len(s.got), n)
		}
	}
}

func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.got)
}

func githubSig(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func nangoHMAC(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// forward is the decoded Nango forward body.
type forward struct {
	From              string          `json:"from"`
	Type              string          `json:"type"`
	ConnectionID      *string         `json:"connectionId"`
	ProviderConfigKey string          `json:"providerConfigKey"`
	Payload           json.RawMessage `json:"payload"`
}

func decodeForward(t *testing.T, b []byte) forward {
	t.Helper()
	var f forward
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("forward body %s: %v", b, err)
	}
	return f
}
