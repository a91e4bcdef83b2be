package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"

	"github.com/valyala/fasthttp"
)

// serveCeiling is the "ceiling" role, run as a subprocess: a bare fasthttp
// server on a loopback port that reads each body and answers 200. It prints
// its address on the first line of stdout.
func serveCeiling([]string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr().String())
	var n int
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		n += len(ctx.PostBody())
		ctx.SetStatusCode(fasthttp.StatusOK)
	}}
	if err := srv.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// subprocess is a child process serving on addr.
type subprocess struct {
	cmd  *exec.Cmd
	addr string
}

// startCeiling runs this program's ceiling role and reads its address.
func startCeiling(self string) (*subprocess, error) {
	cmd := exec.Command(self, "ceiling")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		return nil, fmt.Errorf("ceiling server: %w", err)
	}
	return &subprocess{cmd: cmd, addr: strings.TrimSpace(line)}, nil
}

func (p *subprocess) stop() {
	p.cmd.Process.Kill()
	p.cmd.Wait()
}
