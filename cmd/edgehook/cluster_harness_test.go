package main

import (
	"bytes"
	"context"
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
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/edgehook/edgehook/config"
	"github.com/edgehook/edgehook/internal/natstest"
)

// The scale-out rig (SPEC §12): one etcd, three nats-server processes
// (deploy/nats's settings), three gateway processes on the JetStream
// spool with the roles asked for, HAProxy from Debian's packages with
// deploy/haproxy/haproxy.cfg in front, and an app that records what it
// receives.

// haproxyBin returns HAProxy's path, installing Debian's package when
// the test runs as root; it skips the test where neither works.
func haproxyBin(t *testing.T) string {
	t.Helper()
	return aptInstall(t, "haproxy", 4*time.Minute, "haproxy", "/usr/sbin/haproxy")
}

// aptMu keeps this binary's tests from running apt-get side by side.
var aptMu sync.Mutex

// aptInstall returns the first of bins (names on PATH or paths) that is
// there, installing Debian's package pkg first when none is and the
// test runs as root (each apt-get run given timeout; on a failure the
// package lists are updated and the install tried once more); it skips
// the test where neither works.
func aptInstall(t *testing.T, pkg string, timeout time.Duration, bins ...string) string {
	t.Helper()
	find := func() string {
		for _, p := range bins {
			if path, err := exec.LookPath(p); err == nil {
				return path
			}
		}
		return ""
	}
	if p := find(); p != "" {
		return p
	}
	if os.Geteuid() != 0 {
		t.Skipf("%s is not installed and installing it needs root (apt-get install -y %s)", pkg, pkg)
	}
	aptMu.Lock()
	defer aptMu.Unlock()
	if p := find(); p != "" { // another test installed it meanwhile
		return p
	}
	install := func(args ...string) ([]byte, error) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, "apt-get", append([]string{"-o", "DPkg::Lock::Timeout=120"}, args...)...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		return cmd.CombinedOutput()
	}
	start := time.Now()
	out, err := install("install", "-y", pkg)
	if err != nil { // the package lists may be missing or stale
		install("update")
		out, err = install("install", "-y", pkg)
	}
	if p := find(); p != "" {
		t.Logf("installed Debian's %s in %v", pkg, time.Since(start).Round(time.Second))
		return p
	}
	tail := out[max(0, len(out)-400):]
	t.Skipf("%s could not be installed from Debian's packages (no network to the mirror?): %v\n%s", pkg, err, tail)
	return ""
}

// rig is one scale-out deployment on 127.0.0.1.
type rig struct {
	t        *testing.T
	bin      string
	dir      string
	etcd     string
	nats     *natstest.Procs
	roles    []string
	ingress  []string // each gateway's addresses, fixed across restarts
	admin    []string
	gws      []*proc // nil while down
	lb, lbAd string
	app      *app
	failing  *app // another destination: answers 500 while failing is set
}

// newRig starts everything for roles (one gateway each).
func newRig(t *testing.T, bin, natsBin, haproxy string, roles ...string) *rig {
	t.Helper()
	r := &rig{t: t, bin: bin, dir: t.TempDir(), roles: roles, gws: make([]*proc, len(roles)), app: newApp(t), failing: newApp(t)}
	emb, err := config.StartEmbedded(filepath.Join(r.dir, "etcd"), freeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Close)
	r.etcd = strings.Join(emb.Endpoints(), ",")
	ndir := filepath.Join(r.dir, "nats")
	os.MkdirAll(ndir, 0o700)
	if r.nats, err = natstest.StartProcs(natsBin, ndir, 3); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.nats.Stop)
	for range roles {
		r.ingress, r.admin = append(r.ingress, freeAddr(t)), append(r.admin, freeAddr(t))
	}
	var wg sync.WaitGroup
	for i := range roles {
		wg.Go(func() { r.gws[i] = r.start(i) })
	}
	wg.Wait()
	r.configure()
	r.startHAProxy(haproxy)
	return r
}

// start starts gateway i.
func (r *rig) start(i int) *proc {
	return startProcAt(r.t, r.bin, filepath.Join(r.dir, "gw"+strconv.Itoa(i)), r.ingress[i], r.admin[i],
		"--etcd", r.etcd, "--spool", r.nats.URL(), "--spool-monitor", r.nats.MonitorURL(), "--role", r.roles[i],
		"--retry-schedule", "200ms,400ms,800ms,1s,1s,1s,1s,1s,1s,1s", "--attempt-timeout", "2s")
}

// kill sends gateway i SIGKILL.
func (r *rig) kill(i int) {
	p := r.gws[i]
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
	r.gws[i] = nil
}

// running returns the index of a running gateway (not i).
func (r *rig) running(not int) int {
	for j, p := range r.gws {
		if p != nil && j != not {
			return j
		}
	}
	r.t.Fatal("no gateway runs")
	return -1
}

// configure writes, through one gateway, environment prod forwarding to
// the app, environment gone whose app answers 410, environment fail
// whose app (another destination) answers 500, each with a GitHub
// integration and connection.
func (r *rig) configure() {
	p := r.gws[0]
	for env, url := range map[string]string{"prod": r.app.url + "/hook", "gone": r.app.url + "/gone", "fail": r.failing.url + "/fail"} {
		p.put(r.t, env, `{"webhook_urls":["`+url+`"],"webhook_secret":"app"}`)
		p.put(r.t, env+"/integrations/github", `{"provider":"github","webhook_secret":"gh"}`)
		p.put(r.t, env+"/integrations/github/connections/c1", `{"config":{"installation_id":1}}`)
	}
	time.Sleep(1500 * time.Millisecond) // in force on every instance within a second
}

// startHAProxy runs HAProxy on deploy/haproxy/haproxy.cfg and waits
// until it takes webhooks.
func (r *rig) startHAProxy(bin string) {
	r.lb, r.lbAd = freeAddr(r.t), freeAddr(r.t)
	cmd := exec.Command(bin, "-db", "-f", filepath.Join("..", "..", "deploy", "haproxy", "haproxy.cfg"))
	cmd.Env = append(os.Environ(), "EDGEHOOK_LB_LISTEN="+r.lb, "EDGEHOOK_LB_ADMIN_LISTEN="+r.lbAd)
	for i := range 3 {
		n := strconv.Itoa(i + 1)
		cmd.Env = append(cmd.Env, "EDGEHOOK_GW"+n+"="+r.ingress[i], "EDGEHOOK_GW"+n+"_ADMIN="+r.admin[i])
	}
	log := new(bytes.Buffer)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if st, _ := post(r.lb, "prod", "ready-probe", time.Now()); st == 200 {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("HAProxy takes no webhooks after 20s:\n%s", log)
		}
	}
}

var httpc = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

// post sends a signed GitHub event with delivery id id to env through
// addr, and returns the status and whether it was a duplicate.
func post(addr, env, id string, sent time.Time) (int, bool) {
	body := []byte(`{"installation":{"id":1},"id":"` + id + `"}`)
	m := hmac.New(sha256.New, []byte("gh"))
	m.Write(body)
	req, _ := http.NewRequest("POST", "http://"+addr+"/webhook/"+env+"/github", bytes.NewReader(body))
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
	req.Header.Set("X-GitHub-Delivery", id)
	req.Header.Set("X-GitHub-Event", "issues")
	req.Header.Set("X-Sent", strconv.FormatInt(sent.UnixNano(), 10))
	resp, err := httpc.Do(req)
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, bytes.Contains(b, []byte(`"duplicate":true`))
}

// admin makes an admin call to addr and decodes the JSON reply into v.
func admin(t *testing.T, method, addr, path string, v any) int {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+addr+path, nil)
	resp, err := httpc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil {
		json.NewDecoder(resp.Body).Decode(v)
	}
	return resp.StatusCode
}

// app is the receiving app: it counts the forwards of each provider
// delivery id per path, and their end-to-end latency.
type app struct {
	url  string
	fail atomic.Bool // answer /fail with 500
	mu   sync.Mutex
	hits map[string]map[string]int // path → delivery id → forwards
	lat  map[string][]time.Duration
}

func newApp(t *testing.T) *app {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := &app{url: "http://" + ln.Addr().String(), hits: map[string]map[string]int{}, lat: map[string][]time.Duration{}}
	srv := &http.Server{Handler: a}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return a
}

func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	id := r.Header.Get("X-Github-Delivery")
	a.mu.Lock()
	if a.hits[r.URL.Path] == nil {
		a.hits[r.URL.Path] = map[string]int{}
	}
	a.hits[r.URL.Path][id]++
	if sent, err := strconv.ParseInt(r.Header.Get("X-Sent"), 10, 64); err == nil && a.hits[r.URL.Path][id] == 1 {
		a.lat[r.URL.Path] = append(a.lat[r.URL.Path], time.Since(time.Unix(0, sent)))
	}
	a.mu.Unlock()
	switch r.URL.Path {
	case "/gone":
		w.WriteHeader(http.StatusGone)
	case "/fail":
		if a.fail.Load() {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}
}

// count returns how many times path received delivery id.
func (a *app) count(path, id string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.hits[path][id]
}

// missing returns the ids path has not received.
func (a *app) missing(path string, ids []string) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, id := range ids {
		if a.hits[path][id] == 0 {
			out = append(out, id)
		}
	}
	return out
}

// duplicates returns how many of ids path received more than once.
func (a *app) duplicates(path string, ids []string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, id := range ids {
		if a.hits[path][id] > 1 {
			n++
		}
	}
	return n
}

// takeLatency returns and clears path's latencies, sorted.
func (a *app) takeLatency(path string) []time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	l := a.lat[path]
	a.lat[path] = nil
	slices.Sort(l)
	return l
}

// load is providers sending events through the load balancer: each
// worker sends one event at a time and sends it again, with the same
// delivery id, until it is acknowledged, as providers retry.
type load struct {
	mu      sync.Mutex
	acked   []string
	ackAt   []time.Time
	tries   int
	stop    chan struct{}
	done    sync.WaitGroup
	prefix  string
	next    int
	lastAck time.Time
}

func startLoad(addr, env, prefix string, workers int, every time.Duration) *load {
	l := &load{stop: make(chan struct{}), prefix: prefix}
	for range workers {
		l.done.Go(func() {
			for {
				l.mu.Lock()
				id := fmt.Sprintf("%s-%d", l.prefix, l.next)
				l.next++
				l.mu.Unlock()
				for {
					select {
					case <-l.stop:
						return
					default:
					}
					st, _ := post(addr, env, id, time.Now())
					l.mu.Lock()
					l.tries++
					if st == 200 {
						l.acked = append(l.acked, id)
						l.ackAt = append(l.ackAt, time.Now())
					}
					l.mu.Unlock()
					if st == 200 {
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
				time.Sleep(every)
			}
		})
	}
	return l
}

// end stops the load and returns the acknowledged ids and the longest
// time without an acknowledgement after from.
func (l *load) end(from time.Time) ([]string, time.Duration) {
	close(l.stop)
	l.done.Wait()
	var gap time.Duration
	last := from
	at := slices.Clone(l.ackAt)
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	for _, t := range at {
		if t.After(from) {
			gap = max(gap, t.Sub(last))
			last = t
		}
	}
	return l.acked, gap
}
