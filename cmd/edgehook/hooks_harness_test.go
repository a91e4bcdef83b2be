package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/edgehook/edgehook/config"
)

// hookEtcd starts an embedded etcd for the test.
func hookEtcd(t *testing.T) []string {
	t.Helper()
	emb, err := config.StartEmbedded(filepath.Join(t.TempDir(), "etcd"), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Close)
	return emb.Endpoints()
}

// syncBuffer is a log sink shown when the test fails.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// hookGateway is one gateway in the test process, wired by the same code
// as `edgehook serve` (parseServe, gatewayProc.start): etcd client,
// cache, spool, hook worker and both listeners on 127.0.0.1.
type hookGateway struct{ ingress, admin string }

// startHookGateway starts a gateway on etcd with short hook settings
// (lease 2 s, backoff from 50 ms) and the given extra serve flags.
func startHookGateway(t *testing.T, etcd []string, extra ...string) *hookGateway {
	t.Helper()
	g := startGateway(t, etcd, t.TempDir(), append([]string{"--hook-lease-ttl", "2s", "--hook-backoff", "50ms"}, extra...)...)
	return &hookGateway{ingress: g.ingress, admin: g.admin}
}

func waitReady(t *testing.T, admin string) {
	t.Helper()
	eventually(t, 30*time.Second, "gateway ready", func() bool {
		resp, err := http.Get("http://" + admin + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
}

// adminCall makes an admin API request and returns the status and body.
func adminCall(t *testing.T, admin, method, path, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+admin+"/v1/environments/"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return roundTrip(t, req)
}

// roundTrip sends req and returns the status and the body read.
func roundTrip(t *testing.T, req *http.Request) (int, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func mustPut(t *testing.T, admin, path, body string) []byte {
	t.Helper()
	st, b := adminCall(t, admin, http.MethodPut, path, body)
	if st != 200 {
		t.Fatalf("PUT %s: %d %s", path, st, b)
	}
	return b
}

// connView is a connection as the admin API shows it.
type connView struct {
	ConnectionID string                       `json:"connection_id"`
	Config       map[string]string            `json:"config"`
	Credentials  map[string]string            `json:"credentials"`
	Status       string                       `json:"status"`
	Hooks        map[string]config.HookStatus `json:"hooks"`
}

// getConn returns the connection's admin view, or nil on 404.
func getConn(t *testing.T, admin, path string) *connView {
	t.Helper()
	st, b := adminCall(t, admin, http.MethodGet, path, "")
	if st == 404 {
		return nil
	}
	if st != 200 {
		t.Fatalf("GET %s: %d %s", path, st, b)
	}
	var v connView
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("GET %s: %s: %v", path, b, err)
	}
	return &v
}

// waitHook polls the connection until its hook has status want.
func waitHook(t *testing.T, admin, path, hook, want string, d time.Duration) *connView {
	t.Helper()
	var v *connView
	eventually(t, d, path+" "+hook+" "+want, func() bool {
		v = getConn(t, admin, path)
		return v != nil && v.Hooks[hook].Status == want
	})
	return v
}

// storedConfig reads a connection's config from etcd, unmasked.
func storedConfig(t *testing.T, etcd []string, env, integ, id string) map[string]string {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: etcd, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, "/edgehook/envs/"+env+"/connections/"+integ+"/"+id)
	if err != nil || len(resp.Kvs) == 0 {
		t.Fatalf("reading connection %s: %v (%d keys)", id, err, len(resp.Kvs))
	}
	var c struct {
		Config map[string]string `json:"config"`
	}
	if err := json.Unmarshal(resp.Kvs[0].Value, &c); err != nil {
		t.Fatal(err)
	}
	return c.Config
}

// sendStreak posts a Streak event with token to the gateway and returns
// the status and reply.
func sendStreak(t *testing.T, ingress, token, box string) (int, string) {
	t.Helper()
	body := `[{"event":"BOX_EDITED","key":"` + box + `"}]`
	req, _ := http.NewRequest(http.MethodPost, "http://"+ingress+"/webhook/prod/streak", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Streak-Webhook-Token", token)
	st, b := roundTrip(t, req)
	return st, string(b)
}

// eventually polls cond every 10 ms and fails the test after d.
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
