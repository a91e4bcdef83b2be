package delivery

import (
	"context"
	"net"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/edgehook/edgehook/delivery/sender"
	"github.com/edgehook/edgehook/delivery/spool"
	"github.com/edgehook/edgehook/internal/telemetry"
)

// spanAttempt is the span of one attempt (SPEC §10).
const spanAttempt = "edgehook.attempt"

// startAttempt starts the edgehook.attempt span of r, a child of the
// event's ingress span (whose context d carries, so that attempts join
// the event's trace after a restart too), and makes r's traceparent name
// it. With tracing off it returns nil and r keeps the stored traceparent.
func (s *Service) startAttempt(d *spool.Delivery, r *sender.Request) trace.Span {
	if s.tracer == nil {
		return nil
	}
	parent := context.Background()
	if sc, ok := telemetry.ParseTraceParent(d.TraceParent); ok {
		parent = trace.ContextWithRemoteSpanContext(parent, sc)
	}
	attrs := []attribute.KeyValue{
		telemetry.AttrEnvironment.String(d.Env), telemetry.AttrIntegration.String(d.Integration), telemetry.AttrProvider.String(d.Provider),
		telemetry.AttrEventID.String(d.EventID), telemetry.AttrDeliveryID.String(d.ID), telemetry.AttrAttempt.Int(r.Attempt),
		telemetry.AttrKind.String(d.Kind.String()), telemetry.AttrMethod.String("POST"),
	}
	if host, port, ok := hostPort(d.Dest); ok {
		attrs = append(attrs, telemetry.AttrAddress.String(host), telemetry.AttrPort.Int(port))
	}
	_, sp := s.tracer.Start(parent, spanAttempt, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	r.TraceParent = telemetry.TraceParent(sp.SpanContext())
	return sp
}

// endAttempt ends an attempt span with the reply's status and the
// outcome; a failed attempt is an error.
func endAttempt(sp trace.Span, status int, outcome, errText string) {
	if sp == nil {
		return
	}
	if status != 0 {
		sp.SetAttributes(telemetry.AttrStatusCode.Int(status))
	}
	sp.SetAttributes(telemetry.AttrOutcome.String(outcome))
	if outcome != outcomeDelivered {
		msg := errText
		if msg == "" && status != 0 {
			msg = "HTTP " + strconv.Itoa(status)
		}
		sp.SetStatus(codes.Error, msg)
	}
	sp.End()
}

// hostPort splits a destination key (scheme://host:port) into its host
// and port.
func hostPort(dest string) (string, int, bool) {
	_, hp, ok := strings.Cut(dest, "://")
	if !ok {
		return "", 0, false
	}
	host, p, err := net.SplitHostPort(hp)
	if err != nil {
		return "", 0, false
	}
	port, err := strconv.Atoi(p)
	return host, port, err == nil
}
