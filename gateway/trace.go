package gateway

import (
	"context"

	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/edgehook/edgehook/config"
	"github.com/edgehook/edgehook/internal/telemetry"
)

// The request's spans (SPEC §10); their attributes are telemetry's.
const (
	spanIngress = "edgehook.ingress"
	spanVerify  = "edgehook.verify"
	spanRoute   = "edgehook.route"
	spanSpool   = "edgehook.spool"
)

// startIngress starts the request's edgehook.ingress span, continuing the
// provider's traceparent (and tracestate) when it sent a valid one. Only
// called with tracing on.
func (s *Server) startIngress(ctx *fasthttp.RequestCtx, j *job) {
	parent := context.Background()
	if sc, ok := telemetry.ParseTraceParent(ctx.Request.Header.Peek("traceparent")); ok {
		if ts := ctx.Request.Header.Peek("tracestate"); len(ts) > 0 {
			if st, err := trace.ParseTraceState(string(ts)); err == nil {
				sc = sc.WithTraceState(st)
			}
		}
		parent = trace.ContextWithRemoteSpanContext(parent, sc)
	}
	j.tctx, j.span = s.tracer.Start(parent, spanIngress, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithTimestamp(j.start), trace.WithAttributes(telemetry.AttrMethod.String(string(ctx.Method()))))
}

// annotate names the request's environment, integration and provider on
// its ingress span, once they are known.
func (j *job) annotate(env *config.Env, ig *config.Integ) {
	if j.span != nil {
		j.span.SetAttributes(telemetry.AttrEnvironment.String(env.Name), telemetry.AttrIntegration.String(ig.Name), telemetry.AttrProvider.String(ig.Provider))
	}
}

// child starts a child span of the request's ingress span; nil (and no
// work) when tracing is off.
func (s *Server) child(j *job, name string) trace.Span {
	if j.span == nil {
		return nil
	}
	_, sp := s.tracer.Start(j.tctx, name)
	return sp
}

// endSpan ends sp unless it is nil.
func endSpan(sp trace.Span) {
	if sp != nil {
		sp.End()
	}
}

// endIngress ends the ingress span with the response's status, the
// outcome, the event id and the connections matched.
func (j *job) endIngress(status int, o outcome) {
	attrs := []attribute.KeyValue{telemetry.AttrStatusCode.Int(status), telemetry.AttrOutcome.String(o.String())}
	if j.eventID != "" {
		attrs = append(attrs, telemetry.AttrEventID.String(j.eventID), telemetry.AttrConnections.Int(len(j.conns)))
	}
	j.span.SetAttributes(attrs...)
	if status >= 500 {
		j.span.SetStatus(codes.Error, o.String())
	}
	j.span.End()
}

// traceParent is the trace context stored with the event's deliveries:
// the ingress span's when tracing is on, so that every attempt joins the
// event's trace, else the provider's traceparent as received ("" when it
// sent none).
func (j *job) traceParent(ctx *fasthttp.RequestCtx) string {
	if j.span != nil {
		return telemetry.TraceParent(j.span.SpanContext())
	}
	if tp := ctx.Request.Header.Peek("traceparent"); len(tp) > 0 {
		return string(tp)
	}
	return ""
}
