package main

import (
	"fmt"
	"time"
)

// report is the gateway's measurements.
type report struct {
	max, half   *result
	ceilHalf    *result // the ceiling at the same rate: what client and machine add
	e2eRPS      float64
	backlogGrew int64 // acknowledged minus delivered over the max phase
	lag         []time.Duration
	drain       time.Duration // after the max phase
	rss         int64         // peak during the max phase
	sinkDown    *sinkDownReport
}

// sinkDownReport is the sink-down phase.
type sinkDownReport struct {
	res     *result
	rss     int64
	backlog int64
	drain   time.Duration
	drained bool
}

// acked counts the forwards the gateway has acknowledged (one per request:
// every request matches exactly one connection).
var acked int64

func drive(f func() *result) *result {
	r := f()
	acked += int64(r.ok)
	return r
}

// waitDrain waits until the sink has every acknowledged forward.
func waitDrain(s *sink, limit time.Duration) (time.Duration, bool) {
	start := time.Now()
	for s.delivered.Load() < acked {
		if time.Since(start) > limit {
			return time.Since(start), false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start), true
}

func measureGateway(c *config, gw *gateway, s *sink, reqs *requests, ceilAddr string) *report {
	// Warm-up: one request per configured connection, so the measured
	// phases see a warm configuration cache (steady state).
	drive(func() *result { return countLoop(gw.addr, reqs, c.conns, len(reqs.bodies)) })
	waitDrain(s, c.drainMax)
	r := &report{}
	gw.rss.take()
	before := s.delivered.Load()
	s.recording.Store(true)
	prof := gw.profile(c.profile, "cpu.pprof", fmt.Sprintf("/debug/pprof/profile?seconds=%d", max(1, int(c.duration.Seconds())-1)))
	stacks := make(chan struct{})
	go func() { // what the goroutines wait on, half-way through
		time.Sleep(c.duration / 2)
		<-gw.profile(c.profile, "goroutines.txt", "/debug/pprof/goroutine?debug=1")
		close(stacks)
	}()
	r.max = drive(func() *result { return closedLoop(gw.addr, reqs, c.conns, c.duration) })
	<-prof
	<-stacks
	<-gw.profile(c.profile, "allocs.pprof", "/debug/pprof/allocs")
	delivered := s.delivered.Load() - before
	s.recording.Store(false)
	r.rss = gw.rss.take()
	r.e2eRPS = float64(delivered) / r.max.elapsed.Seconds()
	r.backlogGrew = int64(r.max.ok) - delivered
	r.lag = s.takeLag()
	r.drain, _ = waitDrain(s, c.drainMax)
	r.max.print("gateway, max rate")
	rate := r.max.rps() / 2
	r.half = drive(func() *result { return openLoop(gw.addr, reqs, c.conns, rate, c.duration) })
	r.half.print(fmt.Sprintf("gateway, %.0f req/s (half)", rate))
	r.ceilHalf = openLoop(ceilAddr, reqs, c.conns, rate, c.duration)
	r.ceilHalf.print(fmt.Sprintf("ceiling, %.0f req/s (same)", rate))
	waitDrain(s, c.drainMax)
	return r
}

// measureSinkDown runs at full rate with the sink down, then brings it
// back and measures the drain.
func measureSinkDown(c *config, gw *gateway, s *sink, reqs *requests) *sinkDownReport {
	d := &sinkDownReport{}
	s.down()
	gw.rss.take()
	d.res = drive(func() *result { return closedLoop(gw.addr, reqs, c.conns, c.sinkDown) })
	d.rss = gw.rss.take()
	d.backlog = acked - s.delivered.Load()
	d.res.print("gateway, sink down")
	if err := s.up(); err != nil {
		fmt.Println("sink up:", err)
		return d
	}
	d.drain, d.drained = waitDrain(s, c.drainMax)
	return d
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

// print prints the report and returns its RESULT line.
func (r *report) print(ceil *result) string {
	ingestRatio := r.max.rps() / ceil.rps()
	e2eRatio := r.e2eRPS / ceil.rps()
	fmt.Printf("forwards delivered          %9.0f /s  (backlog grew by %d over the phase; drained %v after)\n",
		r.e2eRPS, r.backlogGrew, r.drain.Round(time.Millisecond))
	fmt.Printf("end-to-end lag              p50 %6.2fms  p99 %6.2fms\n", ms(pct(r.lag, 0.5)), ms(pct(r.lag, 0.99)))
	fmt.Printf("gateway peak RSS            %6.1f MB\n", mb(r.rss))
	fmt.Printf("ratios to the ceiling       ingest %.2f  end-to-end %.2f\n", ingestRatio, e2eRatio)
	line := fmt.Sprintf("RESULT ingest_rps=%.0f ceiling_rps=%.0f ingest_ratio=%.2f e2e_rps=%.0f e2e_ratio=%.2f p99_ms_half_load=%.2f rss_mb=%.1f ceiling_p99_ms_same_rate=%.2f",
		r.max.rps(), ceil.rps(), ingestRatio, r.e2eRPS, e2eRatio, ms(pct(r.half.lat, 0.99)), mb(r.rss), ms(pct(r.ceilHalf.lat, 0.99)))
	if d := r.sinkDown; d != nil {
		fmt.Printf("sink down                   peak RSS %.1f MB (%.2fx healthy), backlog %d, drained=%v in %v\n",
			mb(d.rss), float64(d.rss)/float64(r.rss), d.backlog, d.drained, d.drain.Round(time.Millisecond))
		line += fmt.Sprintf(" rss_mb_sink_down=%.1f backlog_sink_down=%d drain_s=%.1f drained=%v",
			mb(d.rss), d.backlog, d.drain.Seconds(), d.drained)
	}
	fmt.Println(line)
	return line
}
