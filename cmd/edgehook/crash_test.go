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
	"syscall"
	"testing"
	"time"
)

// buildBinary builds edgehook into a temporary directory once per test.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "edgehook")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// freeAddr returns a loopback address nothing listens on (yet).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

type proc struct {
	cmd            *exec.Cmd
	ingress, admin string
	log            *bytes.Buffer
}

// startProc runs `edgehook serve` on dataDir and waits until /readyz is 200.
func startProc(t *testing.T, bin, dataDir string, extra ...string) *proc {
	t.Helper()
	return startProcAt(t, bin, dataDir, freeAddr(t), freeAddr(t), extra...)
}

// startProcAt is startProc on the given ingress and admin addresses.
func startProcAt(t *testing.T, bin, dataDir, ingress, admin string, extra ...string) *proc {
	t.Helper()
	p := &proc{ingress: ingress, admin: admin, log: new(bytes.Buffer)}
	args := append([]string{"serve", "--data-dir", dataDir, "--listen", p.ingress, "--admin-listen", p.admin,
		"--allow-private-destinations", "--attempt-timeout", "2s"}, extra...)
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	p.cmd.Env = append(os.Environ(), "EDGEHOOK_LOG_LEVEL=warn")
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + p.admin + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway not ready after 30s; log:\n%s", p.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *proc) put(t *testing.T, path, body string) {
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

// Acceptance 3: N events acknowledged while the sink is down survive a
// kill -9 right after the last 2xx and are all delivered after a restart.
func TestCrashDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess crash test")
	}
	const n = 200
	bin := buildBinary(t)
	dataDir := t.TempDir()
	sinkAddr := freeAddr(t) // nothing listens here until the restart
	p := startProc(t, bin, dataDir, "--retry-schedule", "100ms,200ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms")
	p.put(t, "prod", `{"webhook_urls":["http://`+sinkAddr+`/hook"],"webhook_secret":"app"}`)
	p.put(t, "prod/integrations/github", `{"provider":"github","webhook_secret":"gh"}`)
	p.put(t, "prod/integrations/github/connections/c1", `{"config":{"installation_id":1}}`)

	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 16)
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			errs <- sendGitHub(p.ingress, i)
		}(i)
	}
	wg.Wait()
	// kill -9 right after the last 2xx.
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	seen := make(chan int, 4*n)
	ln, err := net.Listen("tcp", sinkAddr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var f struct {
			Payload struct {
				N int `json:"n"`
			} `json:"payload"`
		}
		b, _ := io.ReadAll(r.Body)
		if json.Unmarshal(b, &f) == nil {
			seen <- f.Payload.N
		}
	})}
	go srv.Serve(ln)
	defer srv.Close()
	startProc(t, bin, dataDir)

	got := map[int]bool{}
	deadline := time.After(60 * time.Second)
	for len(got) < n {
		select {
		case i := <-seen:
			got[i] = true
		case <-deadline:
			t.Fatalf("after restart %d of %d acknowledged events arrived", len(got), n)
		}
	}
}

func sendGitHub(ingress string, i int) error {
	body := []byte(fmt.Sprintf(`{"installation":{"id":1},"n":%d}`, i))
	m := hmac.New(sha256.New, []byte("gh"))
	m.Write(body)
	req, _ := http.NewRequest("POST", "http://"+ingress+"/webhook/prod/github", bytes.NewReader(body))
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
	req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("crash-%d", i))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("event %d: %d %s", i, resp.StatusCode, b)
	}
	return nil
}
