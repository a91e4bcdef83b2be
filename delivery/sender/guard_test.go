package sender

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"
)

// Every spelling of an internal IPv4 address inside an IPv6 one is
// refused, and the same forms around a public address are not.
func TestRefusedEmbeddedAddresses(t *testing.T) {
	refused := []string{
		"64:ff9b::7f00:1", "64:ff9b::10.0.0.1", "64:ff9b::169.254.169.254", // NAT64 (RFC 6052)
		"64:ff9b:1::1", "64:ff9b:1::808:808", // local-use NAT64 (RFC 8215)
		"2002:7f00:1::1", "2002:c0a8:101::1", "2002:a9fe:a9fe::", // 6to4 of 127.0.0.1, 192.168.1.1, 169.254.169.254
		"::127.0.0.1", "::10.1.2.3", "::ffff:0:192.168.0.1", // IPv4-compatible and -translated
		"2001:0:a00:1::1",                      // Teredo, server 10.0.0.1
		"2001:0:4136:e378:8000:63bf:f5ff:fffe", // Teredo, client 10.0.0.1 (inverted)
		"2001:0:4136:e378:8000:63bf:80ff:fffe", // Teredo, client 127.0.0.1
		"2001:db8::1", "fec0::1", "100::1",
	}
	for _, a := range refused {
		if !Refused(netip.MustParseAddr(a)) {
			t.Errorf("%s is allowed", a)
		}
	}
	allowed := []string{"64:ff9b::8.8.8.8", "2002:808:808::1", "::8.8.8.8", "2001:0:4136:e378:8000:63bf:f7f7:f7f7"}
	for _, a := range allowed {
		if Refused(netip.MustParseAddr(a)) {
			t.Errorf("%s is refused", a)
		}
	}
}

// dnsServer answers every A query with 127.0.0.1 and every other query
// with no record: a name that "rebinds" to loopback.
func dnsServer(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n < 12 {
				continue
			}
			q := buf[12:n]
			end := bytes.IndexByte(q, 0) // the end of the question's name
			if end < 0 || len(q) < end+5 {
				continue
			}
			qtype := binary.BigEndian.Uint16(q[end+1:])
			resp := append([]byte(nil), buf[:2]...)                 // id
			resp = append(resp, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0) // response, recursion; 1 question
			resp = append(resp, q[:end+5]...)
			if qtype == 1 { // A
				binary.BigEndian.PutUint16(resp[6:], 1)
				resp = append(resp, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1)
			}
			pc.WriteTo(resp, addr)
		}
	}()
	return pc.LocalAddr().String()
}

// A name that resolves to a loopback address (from a resolver the test
// runs) is refused without AllowPrivate, at connect time; a redirect is
// not followed.
func TestGuardResolvedNamesAndRedirects(t *testing.T) {
	dns := dnsServer(t)
	resolver := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", dns)
	}}
	var other atomic.Int64
	target := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { other.Add(1) }))
	var hits atomic.Int64
	app := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.Copy(io.Discard, r.Body)
		http.Redirect(w, r, "http://"+target+"/elsewhere", http.StatusFound)
	}))
	_, port, _ := net.SplitHostPort(app)
	url := "http://rebinds.example:" + port + "/hook"
	dest, err := DestKey(url)
	if err != nil {
		t.Fatal(err)
	}
	req := func() *Request {
		return &Request{URL: url, Dest: dest, ID: "msg_1", Attempt: 1, Secret: "s", Payload: bytesPayload(`{}`)}
	}
	guarded := NewClient(Options{Timeout: 2 * time.Second, Resolver: resolver})
	defer guarded.Close()
	o := guarded.Send(req(), time.Now())
	if !errors.Is(o.Err, ErrRefusedAddress) || hits.Load() != 0 {
		t.Fatalf("a name resolving to 127.0.0.1: %+v, %d requests reached it; want refused", o, hits.Load())
	}
	open := NewClient(Options{Timeout: 2 * time.Second, Resolver: resolver, AllowPrivate: true})
	defer open.Close()
	o = open.Send(req(), time.Now())
	if o.Err != nil || o.Status != http.StatusFound || hits.Load() != 1 {
		t.Fatalf("with private destinations allowed: %+v, %d requests", o, hits.Load())
	}
	if o.Delivered() || other.Load() != 0 {
		t.Fatalf("the redirect was followed (%d) or counted as delivered", other.Load())
	}
}

func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

type bytesPayload string

func (b bytesPayload) Len() int64    { return int64(len(b)) }
func (b bytesPayload) Bytes() []byte { return []byte(b) }
func (b bytesPayload) Open() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader([]byte(b))), nil
}
