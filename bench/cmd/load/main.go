// Command load is edgehook's load generator. In one run it drives, with the
// same fasthttp client, (a) a bare fasthttp server that reads the body and
// answers 200 — the ceiling — and (b) the real gateway binary on a fresh
// data dir with embedded etcd and fsync on, configured with one GitHub
// integration and 10,000 connections and forwarding to an in-process
// fasthttp sink. It prints a report and one machine-readable RESULT line.
//
// All traffic stays on 127.0.0.1 and every phase is bounded in time.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// config is the run's parameters.
type config struct {
	bin      string
	conns    int
	duration time.Duration
	sinkDown time.Duration
	connsCfg int
	bodySize int
	keep     bool
	drainMax time.Duration
	profile  string
	compare  string
	spool    string // embedded or nats
	replicas int    // the JetStream streams' replicas
	role     string // all, or split: an ingest and a deliver instance
	natsBin  string
	soak     time.Duration
	// soakBaseline is how long the all-healthy baseline of the soak runs.
	soakBaseline time.Duration
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "ceiling" {
		serveCeiling(os.Args[2:])
		return
	}
	var c config
	flag.StringVar(&c.bin, "bin", "bin/edgehook", "gateway binary (built with go build when missing)")
	flag.IntVar(&c.conns, "c", 64, "client connections (closed loop: one request in flight each)")
	flag.DurationVar(&c.duration, "d", 5*time.Second, "duration of each measured phase")
	flag.DurationVar(&c.sinkDown, "sink-down", 0, "also run at full rate with the sink down this long, then measure the drain (0: skip)")
	flag.IntVar(&c.connsCfg, "connections", 10000, "connections configured in the gateway")
	flag.IntVar(&c.bodySize, "body", 1024, "payload size in bytes")
	flag.DurationVar(&c.drainMax, "drain-timeout", 2*time.Minute, "longest wait for the delivery backlog to drain")
	flag.BoolVar(&c.keep, "keep", false, "keep the gateway's data dir")
	flag.StringVar(&c.profile, "profile", "", "write the gateway's CPU profile of the max-rate phase and its allocation profile into this directory")
	flag.DurationVar(&c.soak, "soak", 0, "run the soak instead: this long with 1,000 destinations of which 150 misbehave (see soak.go)")
	flag.DurationVar(&c.soakBaseline, "soak-baseline", 2*time.Minute, "length of the soak's all-healthy baseline")
	flag.StringVar(&c.compare, "compare", "", "also measure this gateway binary (an earlier build), in the same run against the same ceiling")
	flag.StringVar(&c.spool, "spool", "embedded", "spool backend: embedded, or nats (a cluster of three nats-server processes started here)")
	flag.IntVar(&c.replicas, "replicas", 3, "with -spool nats: the streams' replicas (1 or 3)")
	flag.StringVar(&c.role, "role", "all", "all: one gateway; split: one --role ingest and one --role deliver gateway (needs -spool nats)")
	flag.StringVar(&c.natsBin, "nats-server", "bin/nats-server", "nats-server binary (built from the required module when missing)")
	flag.Parse()
	if c.role != "all" && (c.role != "split" || c.spool != "nats") {
		fmt.Fprintln(os.Stderr, "load: -role is all, or split with -spool nats")
		os.Exit(2)
	}
	if err := run(&c); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func run(c *config) error {
	if c.soak > 0 {
		return runSoak(c)
	}
	bin, err := ensureBinary(c.bin)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "edgehook-load-")
	if err != nil {
		return err
	}
	if !c.keep {
		defer os.RemoveAll(dir)
	}
	reqs := newRequests(c.connsCfg, c.bodySize)
	fmt.Printf("edgehook load: %d client connections, %v per phase, %d-byte payloads over %d connections; spool %s, role %s\n",
		c.conns, c.duration, c.bodySize, c.connsCfg, spoolDesc(c), c.role)

	ceil, err := startCeiling(self)
	if err != nil {
		return err
	}
	defer ceil.stop()
	ceilRes := closedLoop(ceil.addr, reqs, c.conns, c.duration)
	ceilRes.print("ceiling (bare fasthttp)")

	r, err := measureBinary(c, bin, filepath.Join(dir, "gw"), reqs, ceil.addr, c.profile)
	if err != nil {
		return err
	}
	r.print(ceilRes)
	if c.compare == "" {
		return nil
	}
	fmt.Printf("\nthe same phases for %s\n", c.compare)
	oldProfile := ""
	if c.profile != "" {
		oldProfile = filepath.Join(c.profile, "compare")
	}
	old, err := measureBinary(c, c.compare, filepath.Join(dir, "compare"), reqs, ceil.addr, oldProfile)
	if err != nil {
		return err
	}
	old.print(ceilRes)
	fmt.Printf("COMPARE this/compared ingest %.2f  end-to-end %.2f  p99_half_load %.2f  rss %.2f\n",
		r.max.rps()/old.max.rps(), r.e2eRPS/old.e2eRPS, ms(pct(r.half.lat, 0.99))/ms(pct(old.half.lat, 0.99)),
		float64(r.rss)/float64(old.rss))
	return nil
}

// measureBinary runs every gateway phase against binary bin on a fresh
// data dir and sink, then stops it; profiles go to profile ("" none).
func measureBinary(c *config, bin, dataDir string, reqs *requests, ceilAddr, profile string) (*report, error) {
	sink, err := startSink()
	if err != nil {
		return nil, err
	}
	defer sink.close()
	gw, err := startGateways(c, bin, dataDir)
	if err != nil {
		return nil, err
	}
	defer gw.stop()
	if err := gw.configure(c.connsCfg, sink.url()); err != nil {
		return nil, err
	}
	acked = 0
	cc := *c
	cc.profile = profile
	r := measureGateway(&cc, gw, sink, reqs, ceilAddr)
	if c.sinkDown > 0 {
		r.sinkDown = measureSinkDown(c, gw, sink, reqs)
	}
	return r, nil
}

func spoolDesc(c *config) string {
	if c.spool != "nats" {
		return "embedded"
	}
	return fmt.Sprintf("JetStream R%d", c.replicas)
}
