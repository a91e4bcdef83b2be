// Package sender makes edgehook's outgoing HTTP requests: the HTTP client
// every delivery attempt and lifecycle hook uses, the outgoing-address
// guard that refuses private destinations on the resolved address, and the
// signatures of the forward format (SPEC §6).
package sender

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
// private destinations are not allowed. The attempt fails and is retried per the
// schedule, like any connection error.
var ErrRefusedAddress = errors.New("sender: destination address refused")

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

// Refused reports whether a connection to ip is refused unless private
// destinations are allowed.
func Refused(ip netip.Addr) bool {
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
	if Refused(ap.Addr()) {
		return fmt.Errorf("%w: %s is not public", ErrRefusedAddress, ap.Addr())
	}
	return nil
}

// Dial returns the fasthttp dial function of every outgoing request: TCP
// with a timeout, with the address check unless allowPrivate.
func Dial(allowPrivate bool, timeout time.Duration) fasthttp.DialFunc {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		d.Control = checkAddress
	}
	return func(addr string) (net.Conn, error) {
		return d.Dial("tcp", addr)
	}
}
