package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/valyala/fasthttp"
)

// profile fetches a pprof endpoint of the gateway into dir/name in the
// background; the channel closes when done. With dir "" it does nothing.
func (g *gateway) profile(dir, name, endpoint string) <-chan struct{} {
	done := make(chan struct{})
	if dir == "" {
		close(done)
		return done
	}
	go func() {
		defer close(done)
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI("http://" + g.admin + endpoint)
		err := fasthttp.DoTimeout(req, resp, 2*time.Minute)
		if err == nil && resp.StatusCode() != 200 {
			err = fmt.Errorf("status %d", resp.StatusCode())
		}
		if err == nil {
			err = os.MkdirAll(dir, 0o755)
		}
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, name), resp.Body(), 0o644)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "profile %s: %v\n", name, err)
		}
	}()
	return done
}
