package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
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

// gateway is the edgehook binary under test.
type gateway struct {
	subprocess
	admin string
	rss   rssSampler
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
	g.rss.pid = cmd.Process.Pid
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
	go g.rss.run()
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

// rssSampler tracks the gateway's resident memory.
type rssSampler struct {
	pid  int
	peak atomic.Int64 // bytes, since the last reset
}

func (s *rssSampler) run() {
	for {
		v, err := procStatus(s.pid, "VmRSS:")
		if err != nil {
			return
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
