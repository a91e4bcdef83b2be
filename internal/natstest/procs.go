package natstest

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// BuildServer builds the nats-server binary, from the module this
// repository requires, into dir and returns its path.
func BuildServer(dir string) (string, error) {
	bin := filepath.Join(dir, "nats-server")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/nats-io/nats-server/v2").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("natstest: building nats-server: %v\n%s", err, out)
	}
	return bin, nil
}

// Procs is a cluster of nats-server processes on 127.0.0.1, configured as
// deploy/nats is (JetStream, file storage, sync_interval: always). Kill
// takes one down as kill -9 does; Start brings it back on its store.
type Procs struct {
	bin, dir string
	client   []string // host:port of each
	monitor  []string
	confs    []string
	cmds     []*exec.Cmd
}

// StartProcs writes n configurations under dir and starts the servers.
func StartProcs(bin, dir string, n int) (*Procs, error) {
	ports, err := freePorts(3 * n)
	if err != nil {
		return nil, err
	}
	p := &Procs{bin: bin, dir: dir, cmds: make([]*exec.Cmd, n)}
	var routes []string
	for i := range n {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", ports[2*n+i]))
	}
	for i := range n {
		p.client = append(p.client, fmt.Sprintf("127.0.0.1:%d", ports[i]))
		p.monitor = append(p.monitor, fmt.Sprintf("127.0.0.1:%d", ports[n+i]))
		conf := fmt.Sprintf(`server_name: n%d
listen: %s
http: %s
jetstream {
  store_dir: %q
  sync_interval: always
  max_memory_store: 256MB
}
`, i+1, p.client[i], p.monitor[i], filepath.Join(dir, fmt.Sprintf("n%d", i+1)))
		if n > 1 {
			conf += fmt.Sprintf("cluster {\n  name: edgehook\n  listen: 127.0.0.1:%d\n  routes: [%s]\n}\n",
				ports[2*n+i], strings.Join(routes, ", "))
		}
		path := filepath.Join(dir, fmt.Sprintf("n%d.conf", i+1))
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			return nil, err
		}
		p.confs = append(p.confs, path)
	}
	for i := range n {
		if err := p.Start(i); err != nil {
			p.Stop()
			return nil, err
		}
	}
	return p, p.WaitReady(60 * time.Second)
}

// URL returns the servers' client URLs, comma-separated.
func (p *Procs) URL() string {
	urls := make([]string, len(p.client))
	for i, a := range p.client {
		urls[i] = "nats://" + a
	}
	return strings.Join(urls, ",")
}

// MonitorURL returns the servers' monitoring URLs, comma-separated.
func (p *Procs) MonitorURL() string {
	urls := make([]string, len(p.monitor))
	for i, a := range p.monitor {
		urls[i] = "http://" + a
	}
	return strings.Join(urls, ",")
}

// Start starts server i.
func (p *Procs) Start(i int) error {
	log, err := os.OpenFile(filepath.Join(p.dir, fmt.Sprintf("n%d.log", i+1)), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(p.bin, "-c", p.confs[i])
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return err
	}
	go func() { cmd.Wait(); log.Close() }()
	p.cmds[i] = cmd
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", p.client[i]); err == nil {
			c.Close()
			return nil
		}
	}
	return fmt.Errorf("natstest: server %d not listening", i+1)
}

// Kill sends server i SIGKILL.
func (p *Procs) Kill(i int) {
	if c := p.cmds[i]; c != nil {
		c.Process.Signal(syscall.SIGKILL)
		c.Process.Wait()
		p.cmds[i] = nil
	}
}

// Stop kills every server.
func (p *Procs) Stop() {
	for i := range p.cmds {
		p.Kill(i)
	}
}

// WaitReady waits until every running server answers healthy
// (/healthz: JetStream up, its cluster's meta leader known).
func (p *Procs) WaitReady(d time.Duration) error {
	deadline := time.Now().Add(d)
	for i, m := range p.monitor {
		if p.cmds[i] == nil {
			continue
		}
		for {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+m+"/healthz", nil)
			resp, err := http.DefaultClient.Do(req)
			cancel()
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("natstest: server %d not ready after %v", i+1, d)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nil
}

// Leader returns the index of the server that leads stream, by the
// monitoring endpoints (/jsz), -1 when none is known.
func (p *Procs) Leader(stream string) int {
	for i, m := range p.monitor {
		if p.cmds[i] == nil {
			continue
		}
		resp, err := http.Get("http://" + m + "/jsz?streams=true")
		if err != nil {
			continue
		}
		var v struct {
			Accounts []struct {
				Streams []struct {
					Name    string `json:"name"`
					Cluster struct {
						Leader string `json:"leader"`
					} `json:"cluster"`
				} `json:"stream_detail"`
			} `json:"account_details"`
		}
		err = jsonDecode(resp, &v)
		if err != nil {
			continue
		}
		for _, a := range v.Accounts {
			for _, s := range a.Streams {
				if s.Name == stream && strings.HasPrefix(s.Cluster.Leader, "n") {
					var n int
					if _, err := fmt.Sscanf(s.Cluster.Leader, "n%d", &n); err == nil {
						return n - 1
					}
				}
			}
		}
	}
	return -1
}

func jsonDecode(resp *http.Response, v any) error {
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}
