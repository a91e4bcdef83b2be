package spool

import (
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgehook/edgehook/internal/natstest"
)

// The conformance tests (conformance_test.go) run over every backend: the
// embedded Pebble store on a real directory, and JetStream on a cluster
// of three servers started in this process (once, for the package).

// backend opens spools of one kind for a test.
type backend struct {
	name string
	// open returns a new, empty spool, and reopen closes sp and opens the
	// same store again (a restart).
	open func(t *testing.T) (sp Spool, reopen func(sp Spool) Spool)
}

func backends() []backend {
	return []backend{
		{name: "pebble", open: func(t *testing.T) (Spool, func(Spool) Spool) {
			dir := t.TempDir()
			return openTestSpool(t, dir), func(sp Spool) Spool { sp.Close(); return openTestSpool(t, dir) }
		}},
		{name: "jetstream", open: func(t *testing.T) (Spool, func(Spool) Spool) {
			o := jsTestOptions(t)
			return openJS(t, o), func(sp Spool) Spool { sp.Close(); return openJS(t, o) }
		}},
	}
}

// forEachBackend runs f as a subtest per backend.
func forEachBackend(t *testing.T, f func(t *testing.T, b backend)) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) { f(t, b) })
	}
}

var (
	jsOnce    sync.Once
	jsCluster *natstest.Cluster
	jsErr     error
	jsDir     string
	jsStreams atomic.Int64
)

// testCluster returns the package's JetStream cluster, starting it on
// first use; TestMain shuts it down.
func testCluster(t testing.TB) *natstest.Cluster {
	t.Helper()
	jsOnce.Do(func() {
		if jsDir, jsErr = os.MkdirTemp("", "spool-nats-"); jsErr == nil {
			jsCluster, jsErr = natstest.New(jsDir, 3)
		}
	})
	if jsErr != nil {
		t.Fatal(jsErr)
	}
	return jsCluster
}

// jsTestOptions returns options for a spool on a stream of its own, on
// the package's cluster, with short waits.
func jsTestOptions(t testing.TB) JetStreamOptions {
	return JetStreamOptions{
		URL: testCluster(t).URL(), Stream: "T" + strconv.FormatInt(jsStreams.Add(1), 10), Replicas: 3,
		AckWait: 2 * time.Second, Poll: 200 * time.Millisecond, Timeout: 10 * time.Second, Logger: testLog,
	}
}

// openJS opens a JetStream spool, closed at the end of the test.
func openJS(t testing.TB, o JetStreamOptions) Spool {
	t.Helper()
	sp, err := OpenJetStream(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	return sp
}

func TestMain(m *testing.M) {
	code := m.Run()
	if jsCluster != nil {
		jsCluster.Shutdown()
		os.RemoveAll(jsDir)
	}
	os.Exit(code)
}
