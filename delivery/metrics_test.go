package delivery

import (
	"testing"
	"time"

	"github.com/edgehook/edgehook/delivery/spool"
)

// Counting an attempt and its outcome updates atomics only.
func TestDeliveryMetricsDoNotAllocate(t *testing.T) {
	m := newMetrics(nil, nil)
	if n := testing.AllocsPerRun(200, func() {
		m.attempted(spool.KindForward, 3*time.Millisecond)
		m.delivered(spool.KindRunner, outcomeRetried)
	}); n != 0 {
		t.Fatalf("counting an attempt allocates %v times", n)
	}
}
