package main

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Acceptance (issue 9) 1: a sync notification answered 202 survives a
// kill -9 right after the answer and is delivered after a restart, as
// posted (with "from":"nango" first).
func TestSyncNotificationSurvivesCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess crash test")
	}
	bin := buildBinary(t)
	dataDir := t.TempDir()
	appAddr := freeAddr(t) // nothing listens here until the restart
	p := startProc(t, bin, dataDir, "--retry-schedule", "100ms,200ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms")
	p.put(t, "prod", `{"webhook_urls":["http://`+appAddr+`/hook"],"webhook_secret":"app"}`)
	p.put(t, "prod/integrations/github", `{"provider":"github","webhook_secret":"gh"}`)
	body := `{"type":"sync","connectionId":"c1","providerConfigKey":"github","syncName":"issues","model":"Issue",` +
		`"syncType":"INCREMENTAL","success":true,"responseResults":{"added":1,"updated":0,"deleted":0},"modifiedAfter":null}`
	resp, err := http.Post("http://"+p.admin+"/v1/environments/prod/sync-notifications", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	ack, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("sync notification: %d %s", resp.StatusCode, ack)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil { // right after the 202
		t.Fatal(err)
	}
	p.cmd.Wait()

	got := make(chan []byte, 16)
	ln, err := net.Listen("tcp", appAddr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- b
	})}
	go srv.Serve(ln)
	defer srv.Close()
	p = startProc(t, bin, dataDir)
	want := []byte(`{"from":"nango",` + body[1:])
	arrives := func(within time.Duration, what string) {
		t.Helper()
		select {
		case b := <-got:
			if !bytes.Equal(b, want) {
				t.Fatalf("app got\n%s\nwant\n%s", b, want)
			}
		case <-time.After(within):
			t.Fatalf("%s was not delivered", what)
		}
	}
	arrives(60*time.Second, "the acknowledged sync notification, after the restart,")

	// The sub-command posts one too.
	file := filepath.Join(t.TempDir(), "n.json")
	os.WriteFile(file, []byte(body), 0o600)
	if out, err := exec.Command(bin, "sync-notify", "prod", "-f", file, "--admin", "http://"+p.admin).CombinedOutput(); err != nil ||
		!bytes.Contains(out, []byte(`"id":`)) {
		t.Fatalf("edgehook sync-notify: %v %s", err, out)
	}
	arrives(10*time.Second, "the notification posted by edgehook sync-notify")
}
