package delivery

import (
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// BenchmarkAcceptDeliver accepts events from 32 goroutines (each append
// synced) and waits until a fasthttp app on 127.0.0.1 has them all: the
// cost of an event through the spool, scheduler and sender.
func BenchmarkAcceptDeliver(b *testing.B) {
	var got atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { got.Add(1) }}
	go srv.Serve(ln)
	defer srv.Shutdown()
	url := "http://" + ln.Addr().String() + "/hook"
	s, err := New(Options{Dir: b.TempDir(), AllowPrivate: true, Logger: testLog,
		Secret: func(string) (string, error) { return "app-secret", nil }})
	if err != nil {
		b.Fatal(err)
	}
	s.Start()
	defer s.Close()
	payload := `{"installation":{"id":1001},"blob":"` + strings.Repeat("x", 1000) + `"}`
	b.ReportAllocs()
	b.ResetTimer()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				if _, err := s.Accept(event(payload, url)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	for got.Load() < int64(b.N) {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	st := s.Stats()
	b.ReportMetric(float64(st.Scans)/float64(b.N), "scans/op")
}
