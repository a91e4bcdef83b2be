package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/config"
)

const (
	demoSinkPath = "/demo/sink"
	demoSecret   = "demo-github-secret"
	demoBody     = `{"action":"opened","installation":{"id":1001},"repository":{"full_name":"octo/demo"}}`
)

// demoSink logs each forward it receives, so `make run` works end to end
// without an app of one's own.
func demoSink(log *slog.Logger) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		log.Info("demo sink received a forward",
			"webhook-id", string(ctx.Request.Header.Peek("webhook-id")),
			"attempt", string(ctx.Request.Header.Peek("X-Edgehook-Attempt")),
			"bytes", len(ctx.PostBody()))
		ctx.SetStatusCode(fasthttp.StatusOK)
	}
}

// seedDemo creates, unless present, environment "demo" forwarding to the
// demo sink, a GitHub integration and a connection for installation 1001,
// then prints the URLs and a signed example request.
func seedDemo(ctx context.Context, store *config.Store, ingress, admin string) error {
	ingressURL := "http://" + loopbackAddr(ingress)
	adminURL := "http://" + loopbackAddr(admin)
	if _, err := store.GetEnvironment(ctx, "demo"); errors.Is(err, config.ErrNotFound) {
		steps := []func() error{
			func() error {
				_, err := store.PutEnvironment(ctx, "demo", []byte(`{"webhook_urls":["`+adminURL+demoSinkPath+`"],"webhook_secret":"demo-app-secret"}`))
				return err
			},
			func() error {
				_, err := store.PutIntegration(ctx, "demo", "github", []byte(`{"provider":"github","webhook_secret":"`+demoSecret+`"}`))
				return err
			},
			func() error {
				_, err := store.PutConnection(ctx, "demo", "github", "conn-1", []byte(`{"config":{"installation_id":1001}}`))
				return err
			},
		}
		for _, step := range steps {
			if err := step(); err != nil {
				return fmt.Errorf("demo: seeding: %w", err)
			}
		}
	}
	fmt.Printf(`
edgehook is running
  ingress: %[1]s/webhook/{environment}/{integration}
  admin:   %[2]s/v1/environments/demo   (also %[2]s/readyz, %[2]s/metrics)
  console: %[2]s/console/

Send a signed GitHub webhook to the demo environment:

%[3]s

The forward arrives at the demo sink (%[2]s%[4]s) and is logged; the
console shows it under Deliveries, "Recently delivered".

`, ingressURL, adminURL, demoCurl(ingressURL), demoSinkPath)
	return nil
}

// demoCurl is the signed request make run prints, which the console's
// empty state repeats.
func demoCurl(ingressURL string) string {
	mac := hmac.New(sha256.New, []byte(demoSecret))
	mac.Write([]byte(demoBody))
	return fmt.Sprintf(`  curl -i %[1]s/webhook/demo/github \
    -H 'Content-Type: application/json' \
    -H 'X-GitHub-Event: issues' \
    -H 'X-GitHub-Delivery: 72d3162e-cc78-11e3-81ab-4c9367dc0958' \
    -H 'X-Hub-Signature-256: sha256=%[2]s' \
    -d '%[3]s'`, ingressURL, hex.EncodeToString(mac.Sum(nil)), demoBody)
}

// genericHint is the console's empty state on a gateway without the
// demo: a GitHub event signed with the integration's webhook_secret.
func genericHint(listen string) string {
	return `  body='{"zen":"hello"}'
  sig=$(printf %s "$body" | openssl dgst -sha256 -hmac "$WEBHOOK_SECRET" -r | cut -d' ' -f1)
  curl -i http://` + loopbackAddr(listen) + `/webhook/{environment}/{integration} \
    -H 'X-GitHub-Event: ping' -H "X-GitHub-Delivery: $(cat /proc/sys/kernel/random/uuid)" \
    -H "X-Hub-Signature-256: sha256=$sig" -d "$body"`
}

// loopbackAddr turns ":8080" into "127.0.0.1:8080" for printing.
func loopbackAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
