package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// The soak (issue 8): the real binary, 1,000 destinations (each a
// connection's webhook_url_override on a listener of its own), at half the
// measured maximum rate. First all destinations answer at once (the
// baseline); then, for the soak's length, 50 answer 200 after soakSlow, 50
// never answer, and 50 answer 503. It checks that every event is delivered
// or dead-lettered per its (short) schedule, that the gateway's RSS stays
// flat, and compares the healthy destinations' p99 lag with the baseline.

// Destination behaviours.
const (
	healthy int32 = iota
	slow
	hang
	failing
)

const (
	soakDests    = 1000
	soakBad      = 50 // of each of slow, hang, failing
	soakSlow     = 1500 * time.Millisecond
	soakSchedule = "2s,5s,10s"
	soakSample   = 10 * time.Second // how often RSS is read
	soakWarmup   = 310 * time.Second
)

// soakSinks are the destinations: one listener each, one server.
type soakSinks struct {
	srv       *fasthttp.Server
	lns       []net.Listener
	urls      []string
	port      map[int]int // local port → destination
	kind      []atomic.Int32
	recording atomic.Bool

	mu        sync.Mutex
	delivered map[string]int // X-GitHub-Delivery → 2xx replies
	lag       []time.Duration
}

func startSoakSinks(n int) (*soakSinks, error) {
	s := &soakSinks{port: map[int]int{}, kind: make([]atomic.Int32, n), delivered: map[string]int{}}
	s.srv = &fasthttp.Server{Handler: s.handle, Concurrency: 1 << 16}
	for i := range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			s.close()
			return nil, err
		}
		s.lns = append(s.lns, ln)
		s.port[ln.Addr().(*net.TCPAddr).Port] = i
		s.urls = append(s.urls, "http://"+ln.Addr().String()+"/hook")
		go s.srv.Serve(ln)
	}
	return s, nil
}

func (s *soakSinks) close() {
	for _, ln := range s.lns {
		ln.Close()
	}
}

func (s *soakSinks) handle(ctx *fasthttp.RequestCtx) {
	i := s.port[ctx.LocalAddr().(*net.TCPAddr).Port]
	k := s.kind[i].Load()
	switch k {
	case slow:
		time.Sleep(soakSlow)
	case hang:
		time.Sleep(30 * time.Second) // past the gateway's attempt timeout
		return
	case failing:
		ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
		return
	}
	id := string(ctx.Request.Header.Peek("X-GitHub-Delivery"))
	var lag time.Duration
	if sent, err := strconv.ParseInt(string(ctx.Request.Header.Peek(sentHeader)), 10, 64); err == nil {
		lag = time.Since(time.Unix(0, sent))
	}
	s.mu.Lock()
	s.delivered[id]++
	if k == healthy && s.recording.Load() && string(ctx.Request.Header.Peek("X-Edgehook-Attempt")) == "1" {
		s.lag = append(s.lag, lag)
	}
	s.mu.Unlock()
}

func (s *soakSinks) takeLag() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.lag
	s.lag = nil
	slices.Sort(l)
	return l
}

// configureSoak creates environment "bench" (no URLs of its own), the
// GitHub integration and one connection per destination, installation id
// i forwarding to destination i.
func (g *gateway) configureSoak(urls []string) error {
	c := &fasthttp.HostClient{Addr: g.admin, MaxConns: 32}
	if err := g.put(c, "bench", `{"webhook_secret":"load-app-secret"}`); err != nil {
		return err
	}
	if err := g.put(c, "bench/integrations/github", `{"provider":"github","webhook_secret":"`+ghSecret+`"}`); err != nil {
		return err
	}
	for i, u := range urls {
		id := strconv.Itoa(i)
		if err := g.put(c, "bench/integrations/github/connections/conn-"+id,
			`{"config":{"installation_id":`+id+`},"webhook_url_override":"`+u+`"}`); err != nil {
			return err
		}
	}
	return nil
}

// deliveries lists environment bench's deliveries of status, all pages.
func (g *gateway) deliveries(status string, max int) ([]struct {
	ID, EventID string
	Attempts    int
	Reason      string
}, error) {
	type info = struct {
		ID, EventID string
		Attempts    int
		Reason      string
	}
	var all []info
	after := ""
	for {
		st, body, err := fasthttp.GetTimeout(nil, "http://"+g.admin+"/v1/environments/bench/deliveries?status="+status+
			"&limit=1000&after="+after, time.Minute)
		if err != nil || st != 200 {
			return nil, fmt.Errorf("listing %s deliveries: %d %v", status, st, err)
		}
		var page struct{ Deliveries []info }
		if err := json.Unmarshal(body, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Deliveries...)
		if len(page.Deliveries) < 1000 || len(all) >= max {
			return all, nil
		}
		last := page.Deliveries[len(page.Deliveries)-1].ID
		if last <= after {
			return nil, errors.New("listing deliveries: the gateway ignores after= (an older binary?)")
		}
		after = last
	}
}

func runSoak(c *config) error {
	bin, err := ensureBinary(c.bin)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "edgehook-soak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	sinks, err := startSoakSinks(soakDests)
	if err != nil {
		return err
	}
	defer sinks.close()
	gw, err := startGateway(bin, filepath.Join(dir, "gw"), "--retry-schedule", soakSchedule)
	if err != nil {
		return err
	}
	defer gw.stop()
	if err := gw.configureSoak(sinks.urls); err != nil {
		return err
	}
	reqs := newRequests(soakDests, c.bodySize)
	fmt.Printf("edgehook soak: %d destinations (%d slow at %v, %d hanging, %d failing during the soak), schedule %s\n",
		soakDests, soakBad, soakSlow, soakBad, soakBad, soakSchedule)
	warm := countLoop(gw.addr, reqs, c.conns, soakDests) // warm the configuration cache
	top := closedLoop(gw.addr, reqs, c.conns, 10*time.Second)
	rate := top.rps() / 2
	fmt.Printf("maximum %.0f req/s; soaking at %.0f req/s\n", top.rps(), rate)

	sinks.recording.Store(true)
	base := openLoop(gw.addr, reqs, c.conns, rate, c.soakBaseline)
	time.Sleep(2 * time.Second)
	baseLag := sinks.takeLag()
	base.print("baseline, all healthy")

	for i := range 3 * soakBad {
		sinks.kind[soakDests-1-i].Store(int32(1 + i/soakBad)) // the last 150: slow, hanging, failing
	}
	var rss []int64
	stopRSS := make(chan struct{})
	rssDone := make(chan struct{})
	go func() { // RSS every 10 s through the soak
		defer close(rssDone)
		t := time.NewTicker(soakSample)
		defer t.Stop()
		for {
			select {
			case <-stopRSS:
				return
			case <-t.C:
				if v, err := procStatus(gw.cmd.Process.Pid, "VmRSS:"); err == nil {
					rss = append(rss, v)
					m := gw.gauges("edgehook_spool_pending", "edgehook_spool_bytes", "go_memstats_heap_inuse_bytes")
					fmt.Printf("  %3ds rss %6.1f MB  heap %6.1f MB  pending %7.0f  spool %6.1f MB\n", len(rss)*int(soakSample/time.Second),
						mb(v), mb(int64(m[2])), m[0], mb(int64(m[1])))
				}
			}
		}
	}()
	soak := openLoop(gw.addr, reqs, c.conns, rate, c.soak)
	close(stopRSS)
	<-rssDone
	time.Sleep(2 * time.Second)
	soakLag := sinks.takeLag()
	soak.print("soak, 150 bad destinations")
	sinks.recording.Store(false)

	sent := int64(warm.ok + top.ok + base.ok + soak.ok) // acknowledged
	if errs := warm.errors + top.errors + base.errors + soak.errors; errs > 0 {
		fmt.Printf("%d requests were not acknowledged (the provider would retry them)\n", errs)
	}
	fmt.Printf("waiting (at most %v) until every event is delivered or dead-lettered\n", c.drainMax)
	start := time.Now()
	var pending int
	for {
		p, err := gw.deliveries("pending", 1)
		if err != nil {
			return err
		}
		if pending = len(p); pending == 0 || time.Since(start) > c.drainMax {
			break
		}
		time.Sleep(5 * time.Second)
	}
	dead, err := gw.deliveries("dead", 1<<30)
	if err != nil {
		return err
	}
	sinks.mu.Lock()
	delivered, dups := 0, 0
	for _, n := range sinks.delivered {
		delivered++
		dups += n - 1
	}
	sinks.mu.Unlock()
	beyond := 0
	for _, d := range dead {
		if d.Attempts > 1+3 {
			beyond++
		}
	}
	missing := sent - int64(delivered) - int64(len(dead))
	fmt.Printf("events %d: delivered %d (duplicates %d), dead-lettered %d (%d with more attempts than the schedule), pending %d, missing %d, after %v\n",
		sent, delivered, dups, len(dead), beyond, pending, missing, time.Since(start).Round(time.Second))
	var lo, hi int64
	for i, v := range rss {
		if i == 0 || v < lo {
			lo = v
		}
		hi = max(hi, v)
	}
	// RSS flat: the spread of the samples after the warm-up. The warm-up
	// is the time the failing and hanging destinations' circuits take to
	// reach their longest rest (10 s doubled up to 5 min: 10+20+40+80+160
	// s), after which their waiting backlogs, dead-lettered as their
	// schedule runs out, stay level; before it RSS grows with them.
	settle := min(int(soakWarmup/soakSample), len(rss)/2)
	var wlo, whi int64
	for i, v := range rss[settle:] {
		if i == 0 || v < wlo {
			wlo = v
		}
		whi = max(whi, v)
	}
	flat := float64(whi)/float64(max(wlo, 1)) - 1
	bp99, sp99 := pct(baseLag, 0.99), pct(soakLag, 0.99)
	fmt.Printf("healthy destinations' lag p99: baseline %v, soak %v (%.2fx)\n", bp99.Round(time.Millisecond), sp99.Round(time.Millisecond),
		float64(sp99)/float64(max(bp99, 1)))
	fmt.Printf("gateway RSS over the soak: %.1f to %.1f MB; after the warm-up (%v) %.1f to %.1f MB, spread %+.1f%%\n",
		mb(lo), mb(hi), time.Duration(settle)*soakSample, mb(wlo), mb(whi), 100*flat)
	fmt.Printf("RESULT soak_rate=%.0f events=%d delivered=%d dead=%d pending=%d missing=%d dead_beyond_schedule=%d duplicates=%d lag_p99_ms_baseline=%.1f lag_p99_ms_soak=%.1f lag_ratio=%.2f rss_mb_min=%.1f rss_mb_max=%.1f rss_drift=%.3f\n",
		rate, sent, delivered, len(dead), pending, missing, beyond, dups, ms(bp99), ms(sp99), float64(sp99)/float64(max(bp99, 1)),
		mb(lo), mb(hi), flat)
	if missing != 0 || pending != 0 {
		return errors.New("soak: events neither delivered nor dead-lettered")
	}
	return nil
}
