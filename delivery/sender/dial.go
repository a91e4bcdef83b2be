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
	netip.MustParsePrefix("198.18.0.0/15"),  // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),    // reserved, broadcast
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64 (RFC 8215): the embedding is the operator's
	netip.MustParsePrefix("100::/64"),       // discard-only
	netip.MustParsePrefix("2001:2::/48"),    // benchmarking
	netip.MustParsePrefix("2001:db8::/32"),  // documentation
	netip.MustParsePrefix("fec0::/10"),      // site-local (deprecated)
}

// IPv6 ranges whose addresses embed an IPv4 address, refused when it is.
var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")    // RFC 6052: the last 32 bits
	sixToFour = netip.MustParsePrefix("2002::/16")       // RFC 3056: bits 16–47
	teredo    = netip.MustParsePrefix("2001::/32")       // RFC 4380: the server in bits 32–63, the client inverted in the last 32
	v4compat  = netip.MustParsePrefix("::/96")           // IPv4-compatible ::a.b.c.d (deprecated)
	v4transl  = netip.MustParsePrefix("::ffff:0:0:0/96") // IPv4-translated (RFC 2765)
)

// Refused reports whether a connection to ip is refused unless private
// destinations are allowed: a private, loopback, link-local, multicast or
// reserved address, or an IPv6 address that embeds one (IPv4-mapped and
// -compatible, NAT64, 6to4, Teredo).
func Refused(ip netip.Addr) bool {
	ip = ip.Unmap()
	if refusedSelf(ip) {
		return true
	}
	if !ip.Is6() {
		return false
	}
	b := ip.As16()
	v4 := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{b[i], b[i+1], b[i+2], b[i+3]}) }
	switch {
	case nat64.Contains(ip), v4compat.Contains(ip), v4transl.Contains(ip):
		return refusedSelf(v4(12))
	case sixToFour.Contains(ip):
		return refusedSelf(v4(2))
	case teredo.Contains(ip):
		client := netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]})
		return refusedSelf(v4(4)) || refusedSelf(client)
	}
	return false
}

// refusedSelf is Refused without looking inside an IPv6 address.
func refusedSelf(ip netip.Addr) bool {
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
// with a timeout, with the address check unless allowPrivate. Names are
// resolved with resolver (net.DefaultResolver when nil), at every dial,
// and every address they resolve to is checked, so a name that rebinds
// to a private address is refused.
func Dial(allowPrivate bool, timeout time.Duration, resolver ...*net.Resolver) fasthttp.DialFunc {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if len(resolver) > 0 {
		d.Resolver = resolver[0]
	}
	if !allowPrivate {
		d.Control = checkAddress
	}
	return func(addr string) (net.Conn, error) {
		return d.Dial("tcp", addr)
	}
}
