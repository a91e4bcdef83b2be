package delivery

import (
	"strings"
	"testing"
	"time"
)

// Without AllowPrivate a loopback destination is refused at connect time,
// the attempt fails and is retried, and nothing reaches the sink.
func TestPrivateDestinationRefused(t *testing.T) {
	s := startService(t, Options{Schedule: []time.Duration{time.Hour}})
	snk := newSink(t, nil)
	accept(t, s, event(`{}`, snk.URL))
	var last []Info
	eventually(t, 5*time.Second, "attempt recorded", func() bool {
		last, _, _ = s.List("prod", Query{Status: "pending", Limit: 10})
		return len(last) == 1 && last[0].Attempts == 1
	})
	if !strings.Contains(last[0].LastError, "refused") {
		t.Fatalf("last error %q", last[0].LastError)
	}
	if snk.Count() != 0 {
		t.Fatal("a private destination was reached")
	}
}
