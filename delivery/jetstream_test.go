package delivery

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgehook/edgehook/delivery/spool"
	"github.com/edgehook/edgehook/internal/natstest"
)

// The Service over the JetStream spool (SPEC §12): the roles, and the
// sweep behind a resting circuit, on one in-process server.

// openJetStream opens a spool on stream of the server at url, closed by
// the Service that takes it.
func openJetStream(t *testing.T, url, stream string) spool.Spool {
	t.Helper()
	sp, err := spool.OpenJetStream(spool.JetStreamOptions{URL: url, Stream: stream, Replicas: 1,
		AckWait: 2 * time.Second, Poll: 200 * time.Millisecond, Logger: testLog})
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// An ingest-only Service spools and never attempts; a delivering one on
// the same stream forwards what it spooled, each event once.
func TestJetStreamIngestAndDeliver(t *testing.T) {
	url := natstest.Start(t, 1).URL()
	snk := newSink(t, func(int, http.ResponseWriter) int { return http.StatusOK })
	ingest := newTestService(t, Options{Spool: openJetStream(t, url, "ROLES"), NoDeliver: true})
	const n = 20
	for i := range n {
		accept(t, ingest, event(`{"i":`+strconv.Itoa(i)+`}`, snk.URL))
	}
	time.Sleep(500 * time.Millisecond)
	if c := snk.Count(); c != 0 {
		t.Fatalf("the ingest-only Service made %d requests", c)
	}
	newTestService(t, Options{Spool: openJetStream(t, url, "ROLES")})
	eventually(t, 10*time.Second, "the delivering Service forwards every event", func() bool { return snk.Count() >= n })
	time.Sleep(500 * time.Millisecond)
	if c := snk.Count(); c != n {
		t.Fatalf("%d requests for %d events", c, n)
	}
}

// TestExpiredBehindRestingCircuit on JetStream: the Service's sweep
// dead-letters what runs out while the circuit rests.
func TestJetStreamExpiredBehindRestingCircuit(t *testing.T) {
	url := natstest.Start(t, 1).URL()
	snk := newSink(t, func(int, http.ResponseWriter) int { return http.StatusServiceUnavailable })
	s := newTestService(t, Options{Spool: openJetStream(t, url, "REST"), Schedule: []time.Duration{20 * time.Millisecond}, Jitter: -1,
		AttemptTimeout: 100 * time.Millisecond, CircuitThreshold: 2, CircuitCooldown: time.Minute})
	for i := range 2 {
		accept(t, s, event(`{"open":`+strconv.Itoa(i)+`}`, snk.URL))
	}
	eventually(t, 10*time.Second, "circuit open", func() bool { return destState(t, s, snk.URL) == "open" })
	const n = 50
	for i := range n {
		accept(t, s, event(`{"i":`+strconv.Itoa(i)+`}`, snk.URL))
	}
	eventually(t, 15*time.Second, "waiting deliveries dead-lettered while the circuit rests", func() bool {
		dead, _, err := s.List("prod", Query{Status: "dead", Limit: 200})
		return err == nil && len(dead) == n+2
	})
	if c := snk.Count(); c > 2+2 {
		t.Fatalf("%d requests made; the resting circuit let more than its opening attempts through", c)
	}
	if st := destState(t, s, snk.URL); st != "open" {
		t.Fatalf("circuit %s, want still open", st)
	}
	pending, _, _ := s.List("prod", Query{Status: "pending", Limit: 200})
	dead, _, _ := s.List("prod", Query{Status: "dead", Limit: 200})
	if len(pending) != 0 || !strings.Contains(dead[len(dead)-1].Reason+dead[0].Reason, "ran out") {
		t.Fatalf("%d pending, dead letters %+v", len(pending), dead[0])
	}
}
