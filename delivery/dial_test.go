package delivery

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestRefusedAddresses(t *testing.T) {
	for _, a := range []string{"127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
		"::1", "fe80::1", "fc00::1", "0.0.0.0", "100.64.0.1", "::ffff:127.0.0.1", "224.0.0.1", "255.255.255.255"} {
		if !refused(netip.MustParseAddr(a)) {
			t.Errorf("%s is allowed", a)
		}
	}
	for _, a := range []string{"93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "8.8.8.8"} {
		if refused(netip.MustParseAddr(a)) {
			t.Errorf("%s is refused", a)
		}
	}
}

// Without AllowPrivate a loopback destination is refused at connect time,
// the attempt fails and is retried, and nothing reaches the sink.
func TestPrivateDestinationRefused(t *testing.T) {
	s := startService(t, Options{Schedule: []time.Duration{time.Hour}})
	snk := newSink(t, nil)
	accept(t, s, event(`{}`, snk.URL))
	var last []Info
	eventually(t, 5*time.Second, "attempt recorded", func() bool {
		last, _ = s.List("prod", "pending", 10)
		return len(last) == 1 && last[0].Attempts == 1
	})
	if !strings.Contains(last[0].LastError, "refused") {
		t.Fatalf("last error %q", last[0].LastError)
	}
	if snk.Count() != 0 {
		t.Fatal("a private destination was reached")
	}
}
