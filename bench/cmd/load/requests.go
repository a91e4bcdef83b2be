package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

const (
	// ghSecret is the benchmark integration's webhook secret.
	ghSecret = "load-github-secret"
	// sentHeader carries the send time (Unix ns); the gateway passes it
	// through to the sink, which derives the end-to-end lag from it.
	sentHeader = "X-Load-Sent"
	path       = "/webhook/bench/github"
)

// requests are pre-signed GitHub deliveries, one per configured
// connection, so that signing costs the client nothing per request.
type requests struct {
	bodies [][]byte
	sigs   [][]byte
	seq    atomic.Uint64
	run    string
}

func newRequests(n, size int) *requests {
	r := &requests{run: strconv.FormatInt(time.Now().UnixNano(), 36)}
	for i := range n {
		head := fmt.Sprintf(`{"action":"opened","installation":{"id":%d},"repository":{"full_name":"load/repo-%d"},"pad":"`, i, i)
		pad := max(size-len(head)-2, 0)
		body := make([]byte, 0, len(head)+pad+2)
		body = append(body, head...)
		for j := 0; j < pad; j++ {
			body = append(body, 'a'+byte(j%26))
		}
		body = append(body, `"}`...)
		m := hmac.New(sha256.New, []byte(ghSecret))
		m.Write(body)
		r.bodies = append(r.bodies, body)
		r.sigs = append(r.sigs, []byte("sha256="+hex.EncodeToString(m.Sum(nil))))
	}
	return r
}

// fill prepares req as the next delivery, with a unique delivery id.
func (r *requests) fill(req *fasthttp.Request, addr string, idBuf []byte) []byte {
	n := r.seq.Add(1)
	i := int(n % uint64(len(r.bodies)))
	req.Reset()
	req.SetRequestURI("http://" + addr + path)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	req.Header.Set("X-GitHub-Event", "issues")
	req.Header.SetBytesV("X-Hub-Signature-256", r.sigs[i])
	idBuf = append(append(append(idBuf[:0], r.run...), '-'), strconv.FormatUint(n, 10)...)
	req.Header.SetBytesV("X-GitHub-Delivery", idBuf)
	req.Header.Set(sentHeader, strconv.FormatInt(time.Now().UnixNano(), 10))
	req.SetBodyRaw(r.bodies[i])
	return idBuf
}
