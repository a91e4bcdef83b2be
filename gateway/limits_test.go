package gateway_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/edgehook/edgehook/gateway"
)

// countingListener counts the bytes the server reads from its
// connections.
type countingListener struct {
	net.Listener
	read atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, n: &l.read}, nil
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// rawRequest writes head on a new connection to addr, then each of parts
// with a pause between them while the server reads, and returns the
// reply's status line.
func rawRequest(t *testing.T, addr, head string, parts ...string) string {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(addr, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(c).ReadString('\n')
		lines <- strings.TrimSpace(line)
	}()
	for _, p := range parts {
		select {
		case line := <-lines:
			return line
		case <-time.After(30 * time.Millisecond):
		}
		if _, err := io.WriteString(c, p); err != nil {
			break // the server closed: it read no further
		}
	}
	return <-lines
}

// Acceptance 4 (body): the body of a request is not read past its
// integration's max_body, nor at all before the integration is known.
func TestBodyNotReadPastMaxBody(t *testing.T) {
	ln := &countingListener{}
	g := startGateway(t, startEtcd(t), gwOpts{wrap: func(l net.Listener) net.Listener { ln.Listener = l; return ln }})
	g.put(t, "prod", `{"webhook_secret":"`+appSecret+`"}`)
	g.put(t, "prod/integrations/github", `{"provider":"github","webhook_secret":"s","max_body":1024}`)
	body := strings.Repeat("x", 2048)
	cases := []struct {
		name, path, head string
		parts            []string
		status           string
		max              int64 // bytes the server may read beyond the head
	}{
		{"declared length", "/webhook/prod/github", "Content-Length: 2048\r\n\r\n", []string{body}, "413", 0},
		{"unknown integration", "/webhook/prod/nope", "Content-Length: 2048\r\n\r\n", []string{body}, "404", 0},
		{"unknown environment", "/webhook/nope/github", "Content-Length: 2048\r\n\r\n", []string{body}, "404", 0},
		{"chunked", "/webhook/prod/github", "Transfer-Encoding: chunked\r\n\r\n", chunks(body, 256), "413", 1024 + 256 + 5*8},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			head := "POST " + c.path + " HTTP/1.1\r\nHost: x\r\nX-Hub-Signature-256: sha256=00\r\n" + c.head
			before := ln.read.Load()
			status := rawRequest(t, g.ingress, head, c.parts...)
			if !strings.Contains(status, " "+c.status+" ") {
				t.Fatalf("status %q, want %s", status, c.status)
			}
			time.Sleep(50 * time.Millisecond)
			if n := ln.read.Load() - before - int64(len(head)); n > c.max {
				t.Fatalf("the server read %d bytes of the body, at most %d allowed", n, c.max)
			}
		})
	}
}

func chunks(s string, n int) []string {
	var out []string
	for len(s) > 0 {
		k := min(n, len(s))
		out = append(out, fmt.Sprintf("%x\r\n%s\r\n", k, s[:k]))
		s = s[k:]
	}
	return append(out, "0\r\n\r\n")
}

// Acceptance 4 (headers): a 12 KiB header is served, a 64 KiB one is 431.
func TestHeaderSizeLimit(t *testing.T) {
	g := startGateway(t, startEtcd(t), gwOpts{})
	for _, c := range []struct {
		size   int
		status int
	}{{12 << 10, 200}, {64 << 10, 431}} {
		st, b := do(t, "GET", g.ingress+"/healthz", nil, map[string]string{"X-Pad": strings.Repeat("p", c.size)})
		if st != c.status {
			t.Fatalf("%d-byte header: %d %s, want %d", c.size, st, b, c.status)
		}
	}
}

// Acceptance 4 (slowloris): 300 connections sending their header a byte
// at a time are closed within the header timeout, while normal requests
// keep a p99 under 1 s.
func TestSlowlorisClosedWithinHeaderTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("slow clients for seconds")
	}
	const timeout = time.Second
	g := startGateway(t, startEtcd(t), gwOpts{limits: func(o *gateway.Options) { o.HeaderTimeout = timeout }})
	s := newSink(t, nil)
	g.put(t, "prod", `{"webhook_urls":["`+s.URL+`"],"webhook_secret":"`+appSecret+`"}`)
	g.put(t, "prod/integrations/github", `{"provider":"github","webhook_secret":"gh"}`)
	g.put(t, "prod/integrations/github/connections/c1", `{"config":{"installation_id":1}}`)
	addr := strings.TrimPrefix(g.ingress, "http://")
	var wg sync.WaitGroup
	closedAfter := make(chan time.Duration, 300)
	for range 300 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				closedAfter <- -1
				return
			}
			defer c.Close()
			start := time.Now()
			head := "POST /webhook/prod/github HTTP/1.1\r\nHost: x\r\nX-Slow: "
			for i := 0; ; i++ {
				c.SetWriteDeadline(time.Now().Add(time.Second))
				if _, err := c.Write([]byte{head[min(i, len(head)-1)]}); err != nil {
					break
				}
				c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
				if _, err := c.Read(make([]byte, 512)); err != nil && !isTimeout(err) {
					break // closed by the server (after its 408, if any)
				}
				if time.Since(start) > 10*timeout {
					break
				}
			}
			closedAfter <- time.Since(start)
		}()
	}
	var lat []time.Duration
	deadline := time.Now().Add(2 * timeout)
	for i := 0; time.Now().Before(deadline); i++ {
		body := []byte(fmt.Sprintf(`{"installation":{"id":1},"n":%d}`, i))
		start := time.Now()
		st, b := do(t, "POST", g.ingress+"/webhook/prod/github", body, map[string]string{"X-Hub-Signature-256": githubSig("gh", body)})
		lat = append(lat, time.Since(start))
		if st != 200 {
			t.Fatalf("a normal request during the attack: %d %s", st, b)
		}
	}
	wg.Wait()
	close(closedAfter)
	for d := range closedAfter {
		if d < 0 || d > timeout+time.Second {
			t.Fatalf("a slow connection was closed after %v, want within the header timeout %v", d, timeout)
		}
	}
	slices.Sort(lat)
	if p99 := lat[len(lat)*99/100]; p99 > time.Second {
		t.Fatalf("normal requests p99 %v during the attack, want < 1s", p99)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// countingEtcd is an etcd client that counts its range reads.
func countingEtcd(t *testing.T, endpoints []string) (*clientv3.Client, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	count := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if strings.HasSuffix(method, "/Range") {
			n.Add(1)
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop(),
		DialOptions: []grpc.DialOption{grpc.WithChainUnaryInterceptor(count)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli, &n
}

// Acceptance 5: 10 000 requests with random Streak tokens are all
// answered 200 like a known one, none is forwarded, and none reads etcd.
func TestRandomStreakTokensCostNoEtcdRead(t *testing.T) {
	ep := startEtcd(t)
	cli, reads := countingEtcd(t, ep)
	g := startGateway(t, ep, gwOpts{cacheClient: cli})
	s := newSink(t, nil)
	g.put(t, "prod", `{"webhook_urls":["`+s.URL+`"],"webhook_secret":"`+appSecret+`","unmatched":"forward"}`)
	g.put(t, "prod/integrations/streak", `{"provider":"streak"}`)
	g.put(t, "prod/integrations/streak/connections/c1", `{"config":{"streakWebhookToken":"tok-known"}}`)
	body := []byte(`{"event":"BOX_EDITED"}`)
	post := func(tok string) (int, []byte) {
		return do(t, "POST", g.ingress+"/webhook/prod/streak", body, map[string]string{"X-Streak-Webhook-Token": tok})
	}
	if st, b := post("tok-known"); st != 200 || !streakReply(b) {
		t.Fatalf("known token: %d %s", st, b)
	}
	// Until the integration's token set has loaded, an unknown token reads
	// etcd; wait for one that does not.
	deadline := time.Now().Add(5 * time.Second)
	for i := 0; ; i++ {
		before := reads.Load()
		post(fmt.Sprintf("warm-%d", i))
		if reads.Load() == before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("unknown tokens still read etcd after 5s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	before := reads.Load()
	var bad atomic.Int64
	var wg sync.WaitGroup
	next := atomic.Int64{}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > 10000 {
					return
				}
				req, _ := http.NewRequest("POST", g.ingress+"/webhook/prod/streak", strings.NewReader(string(body)))
				req.Header.Set("X-Streak-Webhook-Token", fmt.Sprintf("random-%d-%x", i, time.Now().UnixNano()))
				resp, err := client.Do(req)
				if err != nil {
					bad.Add(1)
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || !streakReply(b) {
					bad.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if n := bad.Load(); n != 0 {
		t.Fatalf("%d of 10000 random tokens were not answered like a known one", n)
	}
	if n := reads.Load() - before; n != 0 {
		t.Fatalf("%d etcd range reads for 10000 random tokens, want 0", n)
	}
	time.Sleep(200 * time.Millisecond)
	if n := s.Count(); n != 1 {
		t.Fatalf("the sink got %d forwards, want the known token's alone", n)
	}
}
