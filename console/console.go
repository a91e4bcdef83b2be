// Package console is the operator console (README "Console"): static
// pages embedded in the binary and served by the admin listener under
// /console/. The pages hold no data: they call the admin API with the
// bearer token the operator signs in with (kept in the tab's session
// storage), so the console can show and do exactly what the API allows.
package console

import (
	"embed"
	"io/fs"
	"mime"
	"path"
	"strings"

	"github.com/valyala/fasthttp"
)

//go:embed assets
var assets embed.FS

// Options configures the console.
type Options struct {
	// Hint is what the empty state tells the operator to run to see a
	// first delivery (make run's signed curl); "" shows a generic one.
	Hint string
}

// securityHeaders are set on every console response: no script, style or
// connection from anywhere but this origin, no framing, no referrer, and
// nothing cached (the pages are small and change with the binary).
var securityHeaders = [][2]string{
	{"Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"},
	{"X-Content-Type-Options", "nosniff"},
	{"X-Frame-Options", "DENY"},
	{"Referrer-Policy", "no-referrer"},
	{"Cache-Control", "no-store"},
}

// Handler serves the console's files under /console/: /console and
// /console/ are index.html, /console/hint the empty state's command.
func Handler(o Options) fasthttp.RequestHandler {
	files := map[string][]byte{}
	sub, _ := fs.Sub(assets, "assets")
	fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files[p], _ = fs.ReadFile(sub, p)
		}
		return nil
	})
	hint := []byte(o.Hint)
	return func(ctx *fasthttp.RequestCtx) {
		for _, h := range securityHeaders {
			ctx.Response.Header.Set(h[0], h[1])
		}
		if !ctx.IsGet() && !ctx.IsHead() {
			ctx.Error("use GET", fasthttp.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(strings.TrimPrefix(string(ctx.Path()), "/console"), "/")
		switch name {
		case "":
			name = "index.html"
		case "hint":
			ctx.SetContentType("text/plain; charset=utf-8")
			ctx.SetBody(hint)
			return
		}
		b, ok := files[name]
		if !ok {
			ctx.Error("not found", fasthttp.StatusNotFound)
			return
		}
		ct := mime.TypeByExtension(path.Ext(name))
		if ct == "" {
			ct = "application/octet-stream"
		}
		ctx.SetContentType(ct)
		ctx.SetBody(b)
	}
}
