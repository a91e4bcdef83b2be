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
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/edgehook/edgehook/config"
	"github.com/edgehook/edgehook/delivery"
	"github.com/edgehook/edgehook/gateway"
	"github.com/edgehook/edgehook/internal/testsink"
	"github.com/edgehook/edgehook/plugins"
	"github.com/edgehook/edgehook/provider"
)

// startEtcd starts an embedded etcd for the test and returns its endpoints.
func startEtcd(t testing.TB) []string {
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
	gw             *gateway.Server
}

type gwOpts struct {
	schedule        []time.Duration
	maxPending      int
	maxBytes        int64 // the spool's byte budget; 1 GiB
	maxBody         int64
	adminToken      string
	workers         int           // delivery pool; 64
	attemptTimeout  time.Duration // 2s
	circuitCooldown time.Duration // the default
	// limits sets the gateway's listener limits (HeaderTimeout, …).
	limits func(*gateway.Options)
	// cacheClient, when set, is the etcd client of the cache (to count
	// its reads); wrap, when set, wraps the ingress listener.
	cacheClient *clientv3.Client
	wrap        func(net.Listener) net.Listener
}

func startGateway(t testing.TB, endpoints []string, o gwOpts) *testGateway {
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
	store := config.NewStore(cli, "/edgehook", reg.Provision, config.WithSecretFields(reg.SecretConfigFields))
	cacheCli := cli
	if o.cacheClient != nil {
		cacheCli = o.cacheClient
	}
	cache := config.NewCache(cacheCli, "/edgehook", reg.Provision, config.CacheOptions{Logger: log, SecretFields: reg.SecretConfigFields})
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
	if o.workers == 0 {
		o.workers = 64
	}
	if o.attemptTimeout == 0 {
		o.attemptTimeout = 2 * time.Second
	}
	svc, err := delivery.New(delivery.Options{
		Dir:             filepath.Join(t.TempDir(), "spool"),
		Workers:         o.workers,
		Schedule:        o.schedule,
		AttemptTimeout:  o.attemptTimeout,
		CircuitCooldown: o.circuitCooldown,
		AllowPrivate:    true,
		MaxPending:      o.maxPending,
		MaxBytes:        o.maxBytes,
		MinFree:         1,
		Logger:          log,
		Secret: func(env string) (string, error) {
			e, err := cache.Environment(ctx, []byte(env))
			if err != nil {
				return "", err
			}
			return e.Secret, nil
		},
		AppURLs: func(env, integ, conn string) ([]string, error) { return cache.AppURLs(ctx, env, integ, conn) },
	})
	if err != nil {
		t.Fatal(err)
	}
	svc.Start()
	t.Cleanup(svc.Close)
	gopts := gateway.Options{MaxBody: o.maxBody, AdminToken: o.adminToken, Logger: log}
	if o.limits != nil {
		o.limits(&gopts)
	}
	gw := gateway.New(gopts, cache, store, svc, reg.SecretConfigFields)
	in, ad := listen(t), listen(t)
	if o.wrap != nil {
		in = o.wrap(in)
	}
	go gw.ServeIngress(in)
	go gw.ServeAdmin(ad)
	t.Cleanup(func() { gw.Shutdown() })
	return &testGateway{ingress: "http://" + in.Addr().String(), admin: "http://" + ad.Addr().String(), svc: svc, gw: gw}
}

func listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// do sends a request and returns the status and body.
func do(t testing.TB, method, url string, body []byte, header map[string]string) (int, []byte) {
	t.Helper()
	resp, b := send(t, method, url, body, header)
	return resp.StatusCode, b
}

// send sends a request and returns the response, its body read.
func send(t testing.TB, method, url string, body []byte, header map[string]string) (*http.Response, []byte) {
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
	return resp, b
}

// put writes a configuration object through the admin API.
func (g *testGateway) put(t testing.TB, path, body string) {
	t.Helper()
	if st, b := do(t, http.MethodPut, g.admin+"/v1/environments/"+path, []byte(body), nil); st != 200 {
		t.Fatalf("PUT %s: %d %s", path, st, b)
	}
}

// newSink starts a recording app for the test (internal/testsink).
var newSink = testsink.New

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
