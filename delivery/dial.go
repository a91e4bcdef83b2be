package delivery

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// ErrRefusedAddress is the error of an attempt whose destination resolved
// only to refused addresses (private, loopback, link-local, …) while
// Options.AllowPrivate is false. The attempt fails and is retried per the
// schedule, like any connection error.
var ErrRefusedAddress = errors.New("delivery: destination address refused")

// refusedPrefixes are the special-purpose ranges refused besides those
// netip classifies (private, loopback, link-local, multicast,
// unspecified).
var refusedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"), // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"), // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),   // reserved, broadcast
}

// refused reports whether a connection to ip is refused.
func refused(ip netip.Addr) bool {
	ip = ip.Unmap()
	if ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() ||
		ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() ||
		ip.IsMulticast() || ip.IsUnspecified() {
		return true
	}
	for _, p := range refusedPrefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// checkAddress is a net.Dialer Control function: it runs on each resolved
// address just before connecting, so DNS answers cannot slip a private
// address past it.
func checkAddress(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrRefusedAddress, address, err)
	}
	if refused(ap.Addr()) {
		return fmt.Errorf("%w: %s is not public", ErrRefusedAddress, ap.Addr())
	}
	return nil
}

// newDial returns the fasthttp dial function: TCP with a timeout, with
// the address check unless allowPrivate.
func newDial(allowPrivate bool, timeout time.Duration) fasthttp.DialFunc {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		d.Control = checkAddress
	}
	return func(addr string) (net.Conn, error) {
		return d.Dial("tcp", addr)
	}
}
