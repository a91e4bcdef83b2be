package main

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// result is what one driven phase measured.
type result struct {
	ok, errors int
	elapsed    time.Duration
	lat        []time.Duration // ack latency of each successful request, sorted
}

func (r *result) rps() float64 { return float64(r.ok) / r.elapsed.Seconds() }

// client returns a keep-alive client for addr with up to conns connections.
func client(addr string, conns int) *fasthttp.HostClient {
	return &fasthttp.HostClient{
		Addr: addr, MaxConns: conns, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second,
		MaxIdleConnDuration: time.Minute, MaxConnWaitTimeout: 30 * time.Second,
	}
}

// closedLoop keeps conns requests in flight against addr for d.
func closedLoop(addr string, reqs *requests, conns int, d time.Duration) *result {
	deadline := time.Now().Add(d)
	return loop(addr, reqs, conns, func() bool { return time.Now().Before(deadline) })
}

// countLoop sends n requests with conns in flight.
func countLoop(addr string, reqs *requests, conns, n int) *result {
	var left atomic.Int64
	left.Store(int64(n))
	return loop(addr, reqs, conns, func() bool { return left.Add(-1) >= 0 })
}

// loop keeps conns requests in flight against addr while more says so.
func loop(addr string, reqs *requests, conns int, more func() bool) *result {
	hc := client(addr, conns)
	parts := make([]*result, conns)
	var wg sync.WaitGroup
	start := time.Now()
	for g := range conns {
		parts[g] = &result{}
		wg.Go(func() {
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			var id []byte
			for more() {
				id = reqs.fill(req, addr, id)
				t0 := time.Now()
				parts[g].record(hc.Do(req, resp), resp, time.Since(t0))
			}
		})
	}
	wg.Wait()
	return merge(parts, time.Since(start))
}

// openLoop sends at a fixed rate for d with up to conns requests in
// flight. Latency counts from each request's scheduled time, so a server
// that falls behind is charged for the queueing it causes.
func openLoop(addr string, reqs *requests, conns int, rate float64, d time.Duration) *result {
	hc := client(addr, conns)
	interval := time.Duration(float64(time.Second) / rate)
	n := int(d / interval)
	due := make(chan time.Time, n)
	parts := make([]*result, conns)
	var wg sync.WaitGroup
	for g := range conns {
		parts[g] = &result{}
		wg.Go(func() {
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			var id []byte
			p := parts[g]
			for t := range due {
				id = reqs.fill(req, addr, id)
				p.record(hc.Do(req, resp), resp, time.Since(t))
			}
		})
	}
	start := time.Now()
	for i := range n {
		at := start.Add(time.Duration(i) * interval)
		if w := time.Until(at); w > 0 {
			time.Sleep(w)
		}
		due <- at
	}
	close(due)
	wg.Wait()
	return merge(parts, time.Since(start))
}

func (p *result) record(err error, resp *fasthttp.Response, lat time.Duration) {
	if err != nil || resp.StatusCode() != fasthttp.StatusOK {
		p.errors++
		return
	}
	p.ok++
	p.lat = append(p.lat, lat)
}

func merge(parts []*result, elapsed time.Duration) *result {
	r := &result{elapsed: elapsed}
	for _, p := range parts {
		r.ok += p.ok
		r.errors += p.errors
		r.lat = append(r.lat, p.lat...)
	}
	sortDurations(r.lat)
	return r
}
