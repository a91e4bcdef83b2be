package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// smallDisk mounts a tmpfs of size bytes for the test, or skips it when
// the test cannot (not root, no mount).
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("disk-full test: needs root to mount a tmpfs (the spool's fault-injection tests cover write errors without it)")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("disk-full test: mount -t tmpfs failed (%v: %s); the spool's fault-injection tests cover write errors", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

// fill writes path until the disk has at most leave bytes free (or is
// full) and returns the bytes written.
func fill(t *testing.T, path string, leave int64) int64 {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		if errors.Is(err, syscall.ENOSPC) {
			return 0
		}
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 1<<20)
	var n int64
	for {
		var st syscall.Statfs_t
		if syscall.Statfs(filepath.Dir(path), &st) == nil && int64(st.Bavail)*st.Bsize <= leave {
			return n
		}
		w, err := f.Write(chunk)
		n += int64(w)
		if err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return n
		}
	}
}

// Acceptance 1: the spool's disk fills up under load. Ingress answers
// 503, never 500, and does not crash; once space is freed it answers 200
// again without a restart; every acknowledged event is delivered.
func TestDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess disk-full test")
	}
	disk := smallDisk(t, "512m") // Pebble preallocates each WAL to 1.1 × its 16 MiB memtable: recovery needs that much free
	etcd := hookEtcd(t)          // on the test's disk: only the spool is on the small one
	sink := newCountSink(t, "app")
	p := runGateway(t, sharedBinary(t), "--etcd", strings.Join(etcd, ","), "--data-dir", filepath.Join(disk, "data"),
		"--spool-min-free", "0", "--spool-max-bytes", "1000000000000")
	p.put(t, "prod", `{"webhook_urls":["`+sink.URL+`"],"webhook_secret":"app"}`)
	p.put(t, "prod/integrations/github", `{"provider":"github","webhook_secret":"gh"}`)
	p.put(t, "prod/integrations/github/connections/c1", `{"config":{"installation_id":1}}`)

	var mu sync.Mutex
	var acked []int
	statuses := map[int]int{}
	var next atomic.Int64
	t0 := time.Now()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Timeout: 10 * time.Second}
			for {
				select {
				case <-stop:
					return
				default:
				}
				n := int(next.Add(1))
				st, err := postGitHub(c, p.ingress, "gh", 1, n, 4<<10)
				mu.Lock()
				statuses[st]++
				if st == 200 {
					acked = append(acked, n)
				}
				mu.Unlock()
				if err != nil || st != 200 && st != 503 {
					t.Errorf("event %d: status %d, %v at %v", n, st, err, time.Since(t0))
					return
				}
				if st == 503 {
					time.Sleep(5 * time.Millisecond)
				}
			}
		}()
	}
	count := func(st int) int {
		mu.Lock()
		defer mu.Unlock()
		return statuses[st]
	}
	sink.down.Store(true) // the backlog grows until the disk is full
	time.Sleep(300 * time.Millisecond)
	filler := filepath.Join(disk, "filler")
	// Without a free-space margin (--spool-min-free 0) the spool writes
	// until its writes fail: Pebble's WAL and flushes get ENOSPC.
	filled := fill(t, filler, 0)
	t.Logf("filled at %v", time.Since(t0))
	full := count(503)
	deadline := time.Now().Add(15 * time.Second)
	for count(503)-full < 50 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if count(503)-full < 50 {
		t.Fatalf("with the disk full (%d bytes filled) ingress answered 503 %d times, want it refusing", filled, count(503)-full)
	}
	select {
	case <-p.exited:
		t.Fatalf("the gateway exited on a full disk: %v", p.err)
	default:
	}
	sink.down.Store(false)
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	ok := count(200)
	deadline = time.Now().Add(20 * time.Second)
	for count(200)-ok < 50 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if count(200)-ok < 50 {
		var st syscall.Statfs_t
		syscall.Statfs(disk, &st)
		var files []string
		filepath.Walk(disk, func(path string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() {
				return nil
			}
			used := info.Size()
			if st, ok := info.Sys().(*syscall.Stat_t); ok {
				used = st.Blocks * 512
			}
			if used > 1<<20 {
				files = append(files, fmt.Sprintf("%s %d (%d allocated)", strings.TrimPrefix(path, disk), info.Size(), used))
			}
			return nil
		})
		t.Fatalf("after space was freed (%d bytes free now; %d filled), %d events were acknowledged, want ingress back without a restart; files over 1 MiB: %v",
			int64(st.Bavail)*st.Bsize, filled, count(200)-ok, files)
	}
	mu.Lock()
	t.Logf("statuses %v; %d bytes filled the disk; write failures logged: %v", statuses, filled,
		strings.Contains(p.log.String(), "a write failed"))
	ns := append([]int(nil), acked...)
	mu.Unlock()
	sink.waitAll(t, ns, 60*time.Second)
}
