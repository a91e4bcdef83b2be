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
	flag.Parse()
	if err := run(&c); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func run(c *config) error {
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
	fmt.Printf("edgehook load: %d client connections, %v per phase, %d-byte payloads over %d connections\n",
		c.conns, c.duration, c.bodySize, c.connsCfg)

	ceil, err := startCeiling(self)
	if err != nil {
		return err
	}
	defer ceil.stop()
	ceilRes := closedLoop(ceil.addr, reqs, c.conns, c.duration)
	ceilRes.print("ceiling (bare fasthttp)")

	sink, err := startSink()
	if err != nil {
		return err
	}
	defer sink.close()
	gw, err := startGateway(bin, filepath.Join(dir, "gw"))
	if err != nil {
		return err
	}
	defer gw.stop()
	if err := gw.configure(c.connsCfg, sink.url()); err != nil {
		return err
	}
	r := measureGateway(c, gw, sink, reqs, ceil.addr)
	if c.sinkDown > 0 {
		r.sinkDown = measureSinkDown(c, gw, sink, reqs)
	}
	r.print(ceilRes)
	return nil
}
