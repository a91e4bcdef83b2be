package gateway_test

import (
	"encoding/json"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// hangingSink accepts connections and reads requests but never answers.
func hangingSink(t *testing.T) string {
	t.Helper()
	ln := listen(t)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() {
				buf := make([]byte, 4096)
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String() + "/hook"
}

// Acceptance 5: with a destination that never answers, deliveries to
// another destination keep their latency: p50 ingest→sink with the hanging
// destination flooded is compared to p50 without it, in one run.
func TestDestinationIsolation(t *testing.T) {
	g := startGateway(t, startEtcd(t), gwOpts{})
	var mu sync.Mutex
	arrived := map[int]time.Time{}
	good := newSink(t, func(int, http.ResponseWriter) int { return 200 })
	good.OnBody = func(b []byte) {
		var f struct {
			Payload struct{ N int } `json:"payload"`
		}
		if json.Unmarshal(b, &f) == nil {
			mu.Lock()
			arrived[f.Payload.N] = time.Now()
			mu.Unlock()
		}
	}
	setupGitHub(t, g, good.URL)
	g.put(t, "prod/integrations/github/connections/conn-bad", `{"config":{"installation_id":5005},"webhook_url_override":"`+hangingSink(t)+`"}`)

	const n = 40
	sent := map[int]time.Time{}
	measure := func(from int, flood bool) time.Duration {
		if flood { // the hanging destination's attempts are all in flight first
			for range 3 * n {
				sendGitHub(t, g, 5005, "")
			}
		}
		for i := from; i < from+n; i++ {
			sent[i] = time.Now()
			sendGitHub(t, g, 1001, `,"n":`+strconv.Itoa(i))
			time.Sleep(5 * time.Millisecond)
		}
		var lat []time.Duration
		within(t, 10*time.Second, "good deliveries arrived", func() bool {
			mu.Lock()
			defer mu.Unlock()
			lat = lat[:0]
			for i := from; i < from+n; i++ {
				at, ok := arrived[i]
				if !ok {
					return false
				}
				lat = append(lat, at.Sub(sent[i]))
			}
			return true
		})
		slices.Sort(lat)
		return lat[len(lat)/2]
	}
	base := measure(0, false)
	loaded := measure(n, true)
	t.Logf("p50 ingest→sink: %v alone, %v with a hanging destination flooded", base, loaded)
	// A shared queue or pool would put good deliveries behind 2s timeouts.
	if loaded > 5*base+100*time.Millisecond {
		t.Fatalf("p50 %v with a hanging destination vs %v without", loaded, base)
	}
}
