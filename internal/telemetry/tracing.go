// Package telemetry sets up OpenTelemetry tracing from the standard OTEL_*
// environment variables (SPEC §10) and holds the W3C trace-context helpers
// the gateway and the delivery share.
//
// Tracing is off unless an OTLP endpoint is configured: FromEnv then
// returns nil, no SDK is installed, and callers holding a nil Tracer skip
// every span, so that tracing off costs a nil check.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of edgehook's spans.
const ScopeName = "github.com/edgehook/edgehook"

// Tracing is an installed OpenTelemetry SDK: a tracer provider exporting
// over OTLP through a batch span processor.
type Tracing struct {
	tp       *sdktrace.TracerProvider
	tracer   trace.Tracer
	protocol string
}

// FromEnv installs tracing as the standard variables say, or returns nil
// (tracing off) when neither OTEL_EXPORTER_OTLP_TRACES_ENDPOINT nor
// OTEL_EXPORTER_OTLP_ENDPOINT is set, OTEL_SDK_DISABLED is true or
// OTEL_TRACES_EXPORTER is "none". The protocol is
// OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL:
// "http/protobuf" (the default) or "grpc". The exporters read the
// endpoint, headers, timeout, compression and TLS variables themselves;
// the SDK reads OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG and the
// OTEL_BSP_* batch settings; OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES describe the resource (service.name defaults
// to "edgehook").
func FromEnv(ctx context.Context) (*Tracing, error) {
	if !enabled(os.Getenv) {
		return nil, nil
	}
	protocol := firstEnv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
	if protocol == "" {
		protocol = "http/protobuf"
	}
	var exp sdktrace.SpanExporter
	var err error
	switch protocol {
	case "http/protobuf":
		exp, err = otlptracehttp.New(ctx)
	case "grpc":
		exp, err = otlptracegrpc.New(ctx)
	default:
		return nil, fmt.Errorf("telemetry: OTLP protocol %q: want http/protobuf or grpc", protocol)
	}
	if err != nil {
		return nil, fmt.Errorf("telemetry: OTLP %s exporter: %w", protocol, err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", "edgehook")),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(),
	)
	if err != nil && res == nil {
		return nil, fmt.Errorf("telemetry: resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return &Tracing{tp: tp, tracer: tp.Tracer(ScopeName), protocol: protocol}, nil
}

// enabled reports whether the variables ask for trace export.
func enabled(getenv func(string) string) bool {
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return false
	}
	if e := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")); e != "" && e != "otlp" {
		return false // "none"; no other exporter is built in
	}
	return strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")) != "" ||
		strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_ENDPOINT")) != ""
}

func firstEnv(names ...string) string {
	for _, n := range names {
		if v := strings.TrimSpace(os.Getenv(n)); v != "" {
			return v
		}
	}
	return ""
}

// Tracer returns the tracer of edgehook's spans; nil when t is nil
// (tracing off).
func (t *Tracing) Tracer() trace.Tracer {
	if t == nil {
		return nil
	}
	return t.tracer
}

// Protocol returns the OTLP protocol spans are exported with.
func (t *Tracing) Protocol() string { return t.protocol }

// Shutdown exports the spans still queued and stops the SDK, waiting at
// most until ctx ends. It is a no-op on a nil Tracing.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.tp.Shutdown(ctx)
}

// ErrorHandler reports the SDK's own errors (an export that failed) to a
// logger; install it with otel.SetErrorHandler.
type ErrorHandler struct{ Log *slog.Logger }

// Handle implements otel.ErrorHandler.
func (h ErrorHandler) Handle(err error) {
	if err != nil && !errors.Is(err, context.Canceled) {
		h.Log.Warn("telemetry: OpenTelemetry error", "err", err)
	}
}
