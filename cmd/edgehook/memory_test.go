package main

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"sync/atomic"
	"testing"
	"time"
)

// dirSize is the bytes of the regular files under dir.
func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// rssKiB reads a process's resident set size (VmRSS) in KiB.
func rssKiB(pid int) int64 {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// peakRSS samples pid's RSS every 5 ms until stop is closed and returns
// the highest value seen, in bytes.
func peakRSS(pid int, stop <-chan struct{}) <-chan int64 {
	out := make(chan int64, 1)
	go func() {
		var peak int64
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			peak = max(peak, rssKiB(pid))
			select {
			case <-stop:
				out <- peak << 10
				return
			case <-t.C:
			}
		}
	}()
	return out
}

// Issue 8, defect 4: the body of an event is stored once, however many
// deliveries it has. An 8 MiB event matching 10 connections and 2 URLs
// (20 deliveries) adds about twice its size to the spool at most (the WAL
// and one copy), and less than that to the gateway's peak RSS while all
// 20 are delivered.
func TestLargeEventStoredOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess test")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("needs /proc to read the gateway's RSS")
	}
	bin := buildBinary(t)
	data := t.TempDir()
	p := startProc(t, bin, data, "--max-body", strconv.Itoa(16<<20), "--attempt-timeout", "30s")

	release := make(chan struct{})
	var got atomic.Int64
	var bytesIn atomic.Int64
	sink := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			<-release // hold every delivery until the spool is measured
			n, _ := io.Copy(io.Discard, r.Body)
			bytesIn.Add(n)
			got.Add(1)
		})}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		return "http://" + ln.Addr().String() + "/hook"
	}
	p.put(t, "big", `{"webhook_urls":["`+sink()+`","`+sink()+`"],"webhook_secret":"s"}`)
	p.put(t, "big/integrations/github", `{"provider":"github","webhook_secret":"gh"}`)
	for i := range 10 {
		p.put(t, "big/integrations/github/connections/c"+strconv.Itoa(i), `{"config":{"installation_id":77}}`)
	}

	const size = 8 << 20
	body := make([]byte, 0, size+64)
	body = append(body, `{"installation":{"id":77},"blob":"`...)
	body = append(body, bytes.Repeat([]byte("x"), size-len(body)-2)...)
	body = append(body, `"}`...)
	m := hmac.New(sha256.New, []byte("gh"))
	m.Write(body)

	time.Sleep(500 * time.Millisecond) // let start-up settle before the baseline
	spoolDir := filepath.Join(data, "spool")
	spoolBefore := dirSize(t, spoolDir)
	rssBefore := rssKiB(p.cmd.Process.Pid) << 10
	stop := make(chan struct{})
	peak := peakRSS(p.cmd.Process.Pid, stop)

	req, _ := http.NewRequest("POST", "http://"+p.ingress+"/webhook/big/github", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	ack, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(ack, []byte(`"connections":10`)) {
		t.Fatalf("ingest: %d %s", resp.StatusCode, ack)
	}
	time.Sleep(300 * time.Millisecond) // deliveries start and wait on the sinks
	spoolGrowth := dirSize(t, spoolDir) - spoolBefore

	close(release)
	deadline := time.Now().Add(60 * time.Second)
	for got.Load() < 20 {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 20 deliveries arrived; log:\n%s", got.Load(), p.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(stop)
	rssGrowth := <-peak - rssBefore
	if want := int64(20 * size); bytesIn.Load() < want {
		t.Fatalf("sinks received %d bytes, want at least %d", bytesIn.Load(), want)
	}
	t.Logf("8 MiB event × 20 deliveries: spool +%.1f MiB, peak RSS +%.1f MiB (from %.1f MiB)",
		float64(spoolGrowth)/(1<<20), float64(rssGrowth)/(1<<20), float64(rssBefore)/(1<<20))
	if spoolGrowth > 5*size/2 {
		t.Errorf("spool grew by %d bytes for one %d-byte event: its body is stored more than once", spoolGrowth, size)
	}
	if rssGrowth > 2*size {
		t.Errorf("peak RSS grew by %d bytes for one %d-byte event delivered 20 times", rssGrowth, size)
	}
}
