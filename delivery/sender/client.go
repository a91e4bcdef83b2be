package sender

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// Options configures a Client. Zero values take the defaults noted.
type Options struct {
	AllowPrivate bool          // allow private, loopback and link-local destinations
	Timeout      time.Duration // one attempt, connect to reply; 20s
	MaxConns     int           // connections per destination; 32
	// MaxIdle closes a pooled connection idle this long: 4s, below the
	// 5 s after which Node's HTTP server closes idle keep-alive
	// connections.
	MaxIdle time.Duration
	// MaxReply bounds the reply body read; 1 MiB. A longer one is not read
	// and its status still counts.
	MaxReply int
	// Resolver resolves destination names; net.DefaultResolver when nil.
	Resolver *net.Resolver
}

// Client makes the requests of delivery attempts: one fasthttp
// HostClient per destination, dialling through the outgoing-address
// guard, never following redirects.
type Client struct {
	o     Options
	dial  fasthttp.DialFunc
	mu    sync.RWMutex
	hosts map[string]*host
}

type host struct {
	hc   *fasthttp.HostClient
	used atomic.Int64 // Unix seconds of the last request
}

// NewClient returns a Client.
func NewClient(o Options) *Client {
	if o.Timeout <= 0 {
		o.Timeout = 20 * time.Second
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 32
	}
	if o.MaxIdle <= 0 {
		o.MaxIdle = 4 * time.Second
	}
	if o.MaxReply <= 0 {
		o.MaxReply = 1 << 20
	}
	return &Client{o: o, dial: Dial(o.AllowPrivate, o.Timeout, o.Resolver), hosts: map[string]*host{}}
}

// DestKey returns the destination of a URL, the unit of scheduling and of
// connection pools: scheme://host:port, lowercased, the default port made
// explicit. Only http and https with a host are accepted.
func DestKey(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("sender: url: %w", err)
	}
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	switch {
	case scheme != "http" && scheme != "https":
		return "", fmt.Errorf("sender: url %q: scheme must be http or https", raw)
	case u.Hostname() == "":
		return "", fmt.Errorf("sender: url %q: no host", raw)
	case u.User != nil:
		return "", fmt.Errorf("sender: url %q: credentials in a URL are not supported", raw)
	case port == "" && scheme == "http":
		port = "80"
	case port == "":
		port = "443"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("sender: url %q: bad port", raw)
	}
	h := strings.ToLower(u.Hostname())
	if strings.Contains(h, ":") {
		h = "[" + h + "]"
	}
	return scheme + "://" + h + ":" + port, nil
}

// hostFor returns the HostClient of destination dest (see DestKey).
func (c *Client) hostFor(dest string) *host {
	c.mu.RLock()
	h := c.hosts[dest]
	c.mu.RUnlock()
	if h != nil {
		return h
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if h = c.hosts[dest]; h != nil {
		return h
	}
	scheme, addr, _ := strings.Cut(dest, "://")
	h = &host{hc: &fasthttp.HostClient{
		Addr:                      addr,
		IsTLS:                     scheme == "https",
		Name:                      "edgehook",
		Dial:                      c.dial,
		MaxConns:                  c.o.MaxConns,
		MaxConnWaitTimeout:        c.o.Timeout,
		MaxIdleConnDuration:       c.o.MaxIdle,
		ReadTimeout:               c.o.Timeout,
		WriteTimeout:              c.o.Timeout,
		MaxResponseBodySize:       c.o.MaxReply,
		DisablePathNormalizing:    true,
		MaxIdemponentCallAttempts: 1,
	}}
	c.hosts[dest] = h
	return h
}

// Forget drops the pools of destinations unused for idle.
func (c *Client) Forget(idle time.Duration) {
	old := time.Now().Add(-idle).Unix()
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, h := range c.hosts {
		if h.used.Load() < old && h.hc.ConnsCount() == 0 {
			delete(c.hosts, k)
		}
	}
}

// Close closes every idle connection.
func (c *Client) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, h := range c.hosts {
		h.hc.CloseIdleConnections()
	}
}

// Payload is the part of a request body stored in the spool.
type Payload interface {
	Len() int64
	Bytes() []byte // nil when it is read with Open
	Open() (io.ReadCloser, error)
}

// Request is one attempt to make.
type Request struct {
	URL         string
	Dest        string // DestKey(URL)
	ID          string // the webhook-id
	Attempt     int    // from 1
	TraceParent string
	Header      []byte // provider headers passed through (AppendHeader encoding)
	Secret      string // the environment's webhook secret
	// The body posted is Prefix, then Payload, then Suffix.
	Prefix, Suffix []byte
	Payload        Payload
	// WantReply keeps the reply body in Outcome.Reply.
	WantReply bool
}

// Outcome is what one attempt got.
type Outcome struct {
	Status     int           // the reply's status, 0 when none came
	RetryAfter time.Duration // from a Retry-After reply header, 0 when none
	Reply      []byte        // the reply body, with Request.WantReply; nil when over MaxReply
	Err        error         // transport error, or ErrNotSent
}

// ErrNotSent wraps the errors of ours that kept an attempt from being
// made (the body could not be read, the secret cannot sign): the
// destination is not to blame.
var ErrNotSent = errors.New("sender: not sent")

// Delivered reports a 2xx reply.
func (o Outcome) Delivered() bool { return o.Err == nil && o.Status >= 200 && o.Status < 300 }

// Healthy reports whether the reply shows a working destination, for its
// circuit: anything but a transport error, a timeout, 408, 429 and 5xx.
func (o Outcome) Healthy() bool {
	return o.Err == nil && o.Status != 408 && o.Status != 429 && o.Status < 500
}

// Send makes attempt r at now. A request that fails on a pooled
// connection the app had already closed, before any byte of a reply came,
// is sent again at once on a new connection: that is not a failed attempt.
func (c *Client) Send(r *Request, now time.Time) Outcome {
	h := c.hostFor(r.Dest)
	h.used.Store(now.Unix())
	ts := now.Unix()
	sig, err := c.sign(r, ts)
	if err != nil {
		return Outcome{Err: fmt.Errorf("%w: %w", ErrNotSent, err)}
	}
	o := c.send(h, r, ts, sig)
	if stale(o.Err) {
		h.hc.CloseIdleConnections() // the others idled as long
		o = c.send(h, r, ts, sig)
	}
	return o
}

// sign signs r's body.
func (c *Client) sign(r *Request, ts int64) (Signatures, error) {
	if b := r.Payload.Bytes(); b != nil {
		return Sign(r.Secret, r.ID, ts, r.Prefix, b, r.Suffix, nil)
	}
	body, err := r.Payload.Open()
	if err != nil {
		return Signatures{}, err
	}
	defer body.Close()
	return Sign(r.Secret, r.ID, ts, r.Prefix, nil, r.Suffix, body)
}

func (c *Client) send(h *host, r *Request, ts int64, sig Signatures) Outcome {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(r.URL)
	req.Header.SetMethod(fasthttp.MethodPost)
	visitHeader(r.Header, func(k, v []byte) { req.Header.AddBytesKV(k, v) })
	req.Header.SetContentType("application/json")
	req.Header.Set("X-Nango-Hmac-Sha256", sig.NangoHMAC)
	req.Header.Set("X-Nango-Signature", sig.NangoLegacy)
	req.Header.Set("webhook-id", r.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sig.Standard)
	req.Header.Set("traceparent", r.TraceParent)
	req.Header.Set("X-Edgehook-Attempt", strconv.Itoa(r.Attempt))
	size := int64(len(r.Prefix)) + r.Payload.Len() + int64(len(r.Suffix))
	if b := r.Payload.Bytes(); b != nil {
		buf := req.BodyWriter()
		buf.Write(r.Prefix)
		buf.Write(b)
		buf.Write(r.Suffix)
	} else {
		body, err := r.Payload.Open()
		if err != nil {
			return Outcome{Err: fmt.Errorf("%w: %w", ErrNotSent, err)}
		}
		defer body.Close()
		req.SetBodyStream(io.MultiReader(bytes.NewReader(r.Prefix), body, bytes.NewReader(r.Suffix)), int(size))
	}
	err := h.hc.DoTimeout(req, resp, c.o.Timeout)
	o := Outcome{Status: resp.StatusCode()}
	tooLarge := errors.Is(err, fasthttp.ErrBodyTooLarge) && o.Status != 0
	if tooLarge {
		err = nil // the status is what counts; the body is not read
	}
	if err != nil {
		return Outcome{Err: err}
	}
	o.RetryAfter = ParseRetryAfter(resp.Header.Peek("Retry-After"), time.Unix(ts, 0))
	if r.WantReply && !tooLarge {
		o.Reply = bytes.Clone(resp.Body())
	}
	return o
}

// stale reports an error of a request sent on a connection the other end
// had closed: nothing of a reply came.
func stale(err error) bool {
	return err != nil && (errors.Is(err, io.EOF) || errors.Is(err, fasthttp.ErrConnectionClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE))
}
