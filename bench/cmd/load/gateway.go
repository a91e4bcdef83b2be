package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/internal/natstest"
)

// ensureBinary returns bin, building ./cmd/edgehook into it when missing.
func ensureBinary(bin string) (string, error) {
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	out, err := exec.Command("go", "build", "-o", bin, "./cmd/edgehook").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("building %s: %v\n%s", bin, err, out)
	}
	return bin, nil
}

// gateway is the edgehook binary under test: one process, or with
// -role split an ingest one (addr, admin) and a deliver one, and with
// -spool nats the NATS servers they share.
type gateway struct {
	subprocess
	admin  string
	rss    rssSampler
	others []*exec.Cmd // the deliver instance
	nats   *natstest.Procs
}

// startGateways starts what c describes on dataDir.
func startGateways(c *config, bin, dataDir string) (*gateway, error) {
	g, err := startGatewaysOf(c, bin, dataDir)
	if err == nil {
		go g.rss.run()
	}
	return g, err
}

func startGatewaysOf(c *config, bin, dataDir string) (*gateway, error) {
	if c.spool != "nats" {
		return startGateway(bin, dataDir)
	}
	natsBin := c.natsBin
	if _, err := os.Stat(natsBin); err != nil {
		if natsBin, err = natstest.BuildServer(filepath.Dir(natsBin)); err != nil {
			return nil, err
		}
	}
	ndir := filepath.Join(dataDir, "nats")
	if err := os.MkdirAll(ndir, 0o700); err != nil {
		return nil, err
	}
	procs, err := natstest.StartProcs(natsBin, ndir, 3)
	if err != nil {
		return nil, err
	}
	spool := []string{"--spool", procs.URL(), "--spool-replicas", strconv.Itoa(c.replicas), "--spool-monitor", procs.MonitorURL()}
	if c.role != "split" {
		g, err := startGateway(bin, dataDir, spool...)
		if err != nil {
			procs.Stop()
			return nil, err
		}
		g.nats = procs
		return g, nil
	}
	etcd, err := freePort()
	if err != nil {
		return nil, err
	}
	g, err := startGateway(bin, filepath.Join(dataDir, "ingest"), append(spool, "--role", "ingest", "--embedded-etcd-listen", etcd)...)
	if err != nil {
		procs.Stop()
		return nil, err
	}
	g.nats = procs
	d, err := startGateway(bin, filepath.Join(dataDir, "deliver"), append(spool, "--role", "deliver", "--etcd", "http://"+etcd)...)
	if err != nil {
		g.stop()
		return nil, err
	}
	g.others = append(g.others, d.cmd)
	g.rss.pids = append(g.rss.pids, d.cmd.Process.Pid)
	return g, nil
}

// stop stops the gateways and the NATS servers.
func (g *gateway) stop() {
	for _, c := range g.others {
		c.Process.Kill()
		c.Wait()
	}
	g.subprocess.stop()
	if g.nats != nil {
		g.nats.Stop()
	}
}

// freePort returns a loopback address that was free a moment ago.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startGateway runs `edgehook serve` on a fresh data dir with an embedded
// etcd, and the extra flags, and waits until /readyz answers 200.
func startGateway(bin, dataDir string, extra ...string) (*gateway, error) {
	in, err := freePort()
	if err != nil {
		return nil, err
	}
	ad, err := freePort()
	if err != nil {
		return nil, err
	}
	args := append([]string{"serve", "--data-dir", dataDir, "--listen", in, "--admin-listen", ad,
		"--allow-private-destinations", "--log-level", "error"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	g := &gateway{subprocess: subprocess{cmd: cmd, addr: in}, admin: ad}
	g.rss.pids = []int{cmd.Process.Pid}
	for deadline := time.Now().Add(60 * time.Second); ; {
		st, _, err := fasthttp.Get(nil, "http://"+ad+"/readyz")
		if err == nil && st == 200 {
			break
		}
		if time.Now().After(deadline) {
			g.stop()
			return nil, errors.New("gateway not ready after 60s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return g, nil
}

// put writes one object through the admin API.
func (g *gateway) put(c *fasthttp.HostClient, path, body string) error {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + g.admin + "/v1/environments/" + path)
	req.Header.SetMethod(fasthttp.MethodPut)
	req.SetBodyString(body)
	if err := c.Do(req, resp); err != nil {
		return err
	}
	if resp.StatusCode() != 200 {
		return fmt.Errorf("PUT %s: %d %s", path, resp.StatusCode(), resp.Body())
	}
	return nil
}

// configure creates environment "bench" forwarding to the sink, a github
// integration, and n connections with installation ids 0..n-1.
func (g *gateway) configure(n int, sinkURL string) error {
	c := &fasthttp.HostClient{Addr: g.admin, MaxConns: 32}
	if err := g.put(c, "bench", `{"webhook_urls":["`+sinkURL+`"],"webhook_secret":"load-app-secret"}`); err != nil {
		return err
	}
	if err := g.put(c, "bench/integrations/github", `{"provider":"github","webhook_secret":"`+ghSecret+`"}`); err != nil {
		return err
	}
	var next atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
				id := strconv.FormatInt(i, 10)
				if err := g.put(c, "bench/integrations/github/connections/conn-"+id, `{"config":{"installation_id":`+id+`}}`); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// rssSampler tracks the gateways' resident memory (summed).
type rssSampler struct {
	pids []int
	peak atomic.Int64 // bytes, since the last reset
}

func (s *rssSampler) run() {
	for {
		var v int64
		for _, pid := range s.pids {
			n, err := procStatus(pid, "VmRSS:")
			if err != nil {
				return
			}
			v += n
		}
		for p := s.peak.Load(); v > p && !s.peak.CompareAndSwap(p, v); p = s.peak.Load() {
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// take returns the peak since the last take and starts a new one.
func (s *rssSampler) take() int64 { return s.peak.Swap(0) }

// procStatus reads one kB field of /proc/pid/status, in bytes.
func procStatus(pid int, field string) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("%s not in /proc/%d/status", field, pid)
}

// gauges reads the named series (without labels) from the gateway's
// /metrics; a missing one reads 0.
func (g *gateway) gauges(names ...string) []float64 {
	out := make([]float64, len(names))
	code, body, err := fasthttp.Get(nil, "http://"+g.admin+"/metrics")
	if err != nil || code != 200 {
		return out
	}
	for _, line := range strings.Split(string(body), "\n") {
		name, val, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		for i, n := range names {
			if name == n {
				out[i], _ = strconv.ParseFloat(strings.TrimSpace(val), 64)
			}
		}
	}
	return out
}
