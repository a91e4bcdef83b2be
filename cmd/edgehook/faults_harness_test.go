package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The harness of the fault tests: the real binary, built once for the
// package's tests, run as a subprocess per gateway.

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// sharedBinary builds edgehook once for the fault tests.
func sharedBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "edgehook-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "edgehook")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// faultProc is one gateway subprocess.
type faultProc struct {
	cmd            *exec.Cmd
	ingress, admin string
	log            *syncBuffer
	exited         chan struct{}
	err            error // Wait's, once exited is closed
}

// runGateway starts `edgehook serve` with args (after the listeners and
// --allow-private-destinations) and waits until /readyz is 200.
func runGateway(t *testing.T, bin string, args ...string) *faultProc {
	t.Helper()
	p := &faultProc{ingress: freeAddr(t), admin: freeAddr(t), log: new(syncBuffer), exited: make(chan struct{})}
	all := append([]string{"serve", "--listen", p.ingress, "--admin-listen", p.admin,
		"--allow-private-destinations", "--attempt-timeout", "2s", "--retry-schedule", "100ms,200ms,300ms,500ms,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s"}, args...)
	p.cmd = exec.Command(bin, all...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	p.cmd.Env = append(os.Environ(), "EDGEHOOK_LOG_LEVEL=info")
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("gateway %s log:\n%s", p.ingress, p.log)
		}
	})
	p.waitReady(t, 30*time.Second)
	return p
}

func (p *faultProc) waitReady(t *testing.T, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		if st, _ := get("http://" + p.admin + "/readyz"); st == 200 {
			return
		}
		select {
		case <-p.exited:
			t.Fatalf("gateway exited: %v\n%s", p.err, p.log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway not ready after %v; log:\n%s", d, p.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *faultProc) put(t *testing.T, path, body string) {
	t.Helper()
	req, _ := http.NewRequest("PUT", "http://"+p.admin+"/v1/environments/"+path, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("PUT %s: %d %s", path, resp.StatusCode, b)
	}
}

func get(url string) (int, []byte) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// countSink is an app recording the "n" of each forward's payload, and
// whether its X-Nango-Hmac-Sha256 verified with secret.
type countSink struct {
	URL    string
	secret string
	down   atomic.Bool // answer 503, recording nothing
	mu     sync.Mutex
	seen   map[int]int
	badSig int
}

func newCountSink(t *testing.T, secret string) *countSink {
	t.Helper()
	s := &countSink{secret: secret, seen: map[int]int{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if s.down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var f struct {
			Payload struct {
				N int `json:"n"`
			} `json:"payload"`
		}
		m := hmac.New(sha256.New, []byte(s.secret))
		m.Write(b)
		s.mu.Lock()
		defer s.mu.Unlock()
		if r.Header.Get("X-Nango-Hmac-Sha256") != hex.EncodeToString(m.Sum(nil)) {
			s.badSig++
		}
		if json.Unmarshal(b, &f) == nil {
			s.seen[f.Payload.N]++
		}
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	s.URL = "http://" + ln.Addr().String() + "/hook"
	return s
}

// waitAll waits until every n in ns has been received.
func (s *countSink) waitAll(t *testing.T, ns []int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		s.mu.Lock()
		missing := 0
		for _, n := range ns {
			if s.seen[n] == 0 {
				missing++
			}
		}
		bad := s.badSig
		s.mu.Unlock()
		if bad > 0 {
			t.Fatalf("%d forwards with a wrong X-Nango-Hmac-Sha256", bad)
		}
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged events not delivered after %v", missing, len(ns), d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// postGitHub sends event n (its payload padded to pad bytes) for
// installation inst, signed with secret; it returns the status (0 on a
// transport error) and the transport error.
func postGitHub(c *http.Client, ingress, secret string, inst, n, pad int) (int, error) {
	st, _, err := postGitHubPad(c, ingress, secret, inst, n, pad)
	return st, err
}

// postGitHubReply is postGitHub returning the reply body too.
func postGitHubReply(c *http.Client, ingress, secret string, inst, n int) (int, []byte, error) {
	return postGitHubPad(c, ingress, secret, inst, n, 0)
}

func postGitHubPad(c *http.Client, ingress, secret string, inst, n, pad int) (int, []byte, error) {
	body := []byte(fmt.Sprintf(`{"installation":{"id":%d},"n":%d,"pad":"%s"}`, inst, n, strings.Repeat("p", pad)))
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	req, _ := http.NewRequest("POST", "http://"+ingress+"/webhook/prod/github", bytes.NewReader(body))
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, b, nil
}
