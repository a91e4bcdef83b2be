// Package natstest runs NATS JetStream servers inside a test process: one
// server, or a cluster of three, each with file storage that syncs every
// write (sync_interval: always), as production must. Nothing needs a
// pre-installed server: the server is github.com/nats-io/nats-server/v2
// used as a library.
package natstest

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Cluster is a set of running servers; Stop and Start take one down and
// bring it back on the same ports and store.
type Cluster struct {
	opts    []*server.Options
	Servers []*server.Server // nil while stopped
}

// Start starts n servers (n > 1: a JetStream cluster named "edgehook")
// with their stores under a temporary directory of t, waits until
// JetStream is ready on all of them, and shuts them down when the test
// ends.
func Start(t testing.TB, n int) *Cluster {
	t.Helper()
	c, err := New(t.TempDir(), n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Shutdown)
	return c
}

// New is Start for a caller that is not one test (a TestMain): the
// stores live under dir and the caller shuts the servers down.
func New(dir string, n int) (*Cluster, error) {
	ports, err := freePorts(2 * n)
	if err != nil {
		return nil, err
	}
	c := &Cluster{opts: make([]*server.Options, n), Servers: make([]*server.Server, n)}
	var routes []*url.URL
	if n > 1 {
		for i := range n {
			routes = append(routes, &url.URL{Scheme: "nats", Host: fmt.Sprintf("127.0.0.1:%d", ports[n+i])})
		}
	}
	for i := range n {
		o := &server.Options{
			ServerName: fmt.Sprintf("n%d", i+1),
			Host:       "127.0.0.1",
			Port:       ports[i],
			NoLog:      true,
			NoSigs:     true,
			JetStream:  true,
			StoreDir:   filepath.Join(dir, fmt.Sprintf("n%d", i+1)),
			SyncAlways: true,
			// The test clusters share a small machine.
			JetStreamMaxMemory: 256 << 20,
			JetStreamMaxStore:  4 << 30,
		}
		if n > 1 {
			o.Cluster = server.ClusterOpts{Name: "edgehook", Host: "127.0.0.1", Port: ports[n+i]}
			o.Routes = routes
		}
		c.opts[i] = o
	}
	for i := range n {
		if err := c.Start(i); err != nil {
			c.Shutdown()
			return nil, err
		}
	}
	if err := c.WaitReady(30 * time.Second); err != nil {
		c.Shutdown()
		return nil, err
	}
	return c, nil
}

// URL returns the client URLs of every server, comma-separated (stopped
// ones included: a client skips them).
func (c *Cluster) URL() string {
	urls := make([]string, len(c.opts))
	for i, o := range c.opts {
		urls[i] = fmt.Sprintf("nats://%s:%d", o.Host, o.Port)
	}
	return strings.Join(urls, ",")
}

// Start starts server i (again).
func (c *Cluster) Start(i int) error {
	o := *c.opts[i]
	s, err := server.NewServer(&o)
	if err != nil {
		return fmt.Errorf("natstest: server %d: %w", i+1, err)
	}
	go s.Start()
	if !s.ReadyForConnections(20 * time.Second) {
		s.Shutdown()
		return fmt.Errorf("natstest: server %d not ready", i+1)
	}
	c.Servers[i] = s
	return nil
}

// Stop shuts server i down.
func (c *Cluster) Stop(i int) {
	if s := c.Servers[i]; s != nil {
		s.Shutdown()
		s.WaitForShutdown()
		c.Servers[i] = nil
	}
}

// Shutdown stops every server.
func (c *Cluster) Shutdown() {
	for i := range c.Servers {
		c.Stop(i)
	}
}

// WaitReady waits until JetStream on every running server is current
// with its cluster (a meta leader is known).
func (c *Cluster) WaitReady(d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		ready := true
		for _, s := range c.Servers {
			if s != nil && (!s.JetStreamEnabled() || (len(c.Servers) > 1 && !s.JetStreamIsCurrent())) {
				ready = false
			}
		}
		if ready {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("natstest: JetStream not ready after %v", d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freePorts returns n distinct free TCP ports on 127.0.0.1.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	out := make([]int, n)
	for i := range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		out[i] = l.Addr().(*net.TCPAddr).Port
	}
	return out, nil
}

// StreamLeader returns the index of the running server leading stream of
// account ("$G" without accounts), -1 when none does.
func (c *Cluster) StreamLeader(account, stream string) int {
	for i, s := range c.Servers {
		if s != nil && s.JetStreamIsStreamLeader(account, stream) {
			return i
		}
	}
	return -1
}
