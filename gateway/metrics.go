package gateway

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// outcome is what became of one ingress request, as
// edgehook_ingress_requests_total counts it.
type outcome uint8

// Outcomes. outcomeNone means "derive it from the response status".
const (
	outcomeNone outcome = iota
	outcomeAccepted
	outcomeDuplicate
	outcomeHandshake
	outcomeUnauthorized
	outcomeNotFound
	outcomeTooLarge
	outcomeBadRequest
	outcomeOverloaded
	outcomeError
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"", "accepted", "duplicate", "handshake", "unauthorized",
	"not_found", "too_large", "bad_request", "overloaded", "error"}

func (o outcome) String() string { return outcomeNames[o] }

// outcomeOf classifies a response the handler did not classify itself.
func outcomeOf(status int) outcome {
	switch {
	case status < 300:
		return outcomeAccepted
	case status == 401 || status == 403:
		return outcomeUnauthorized
	case status == 404:
		return outcomeNotFound
	case status == 413:
		return outcomeTooLarge
	case status == 429 || status == 503:
		return outcomeOverloaded
	case status < 500:
		return outcomeBadRequest
	}
	return outcomeError
}

// routeResult is what became of an accepted event's routing, as
// edgehook_events_routed_total counts it.
type routeResult uint8

const (
	routedMatched routeResult = iota
	routedUnmatchedForwarded
	routedUnmatchedDropped
	numRouteResults
)

var routeResultNames = [numRouteResults]string{"matched", "unmatched_forwarded", "unmatched_dropped"}

// unknownProvider labels requests whose integration is not known.
const unknownProvider = "unknown"

// metrics are the ingress families of SPEC §10. The series of a provider
// are resolved once, the first time it is seen, into provMetrics; a
// request then updates them with atomic operations only, without a lock
// or an allocation.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	routed   *prometheus.CounterVec

	byProv atomic.Pointer[map[string]*provMetrics] // copied on write
	mu     sync.Mutex                              // serialises the writers
}

// provMetrics are one provider's series.
type provMetrics struct {
	requests [numOutcomes]prometheus.Counter
	duration prometheus.Observer
	routed   [numRouteResults]prometheus.Counter
}

// ingressBuckets span an ack from well under a millisecond to the 1 s of
// the tightest provider timeout and beyond.
var ingressBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}

// newMetrics returns the ingress metrics, registered with reg unless it is
// nil.
func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgehook_ingress_requests_total",
			Help: "Webhook requests received, by provider and outcome.",
		}, []string{"provider", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "edgehook_ingress_duration_seconds",
			Help:    "Time from receiving a webhook request to answering it, by provider.",
			Buckets: ingressBuckets,
		}, []string{"provider"}),
		routed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgehook_events_routed_total",
			Help: "Accepted events by routing result: matched a connection, unmatched and forwarded, unmatched and dropped.",
		}, []string{"provider", "result"}),
	}
	m.byProv.Store(&map[string]*provMetrics{})
	if reg != nil {
		reg.MustRegister(m.requests, m.duration, m.routed)
	}
	return m
}

// of returns provider's series, resolving them the first time.
func (m *metrics) of(provider string) *provMetrics {
	if pm := (*m.byProv.Load())[provider]; pm != nil {
		return pm
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old := *m.byProv.Load()
	if pm := old[provider]; pm != nil {
		return pm
	}
	pm := &provMetrics{duration: m.duration.WithLabelValues(provider)}
	for o := outcomeAccepted; o < numOutcomes; o++ {
		pm.requests[o] = m.requests.WithLabelValues(provider, o.String())
	}
	for r := range numRouteResults {
		pm.routed[r] = m.routed.WithLabelValues(provider, routeResultNames[r])
	}
	next := make(map[string]*provMetrics, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[provider] = pm
	m.byProv.Store(&next)
	return pm
}

// request counts one answered request.
func (m *metrics) request(provider string, o outcome, took time.Duration) {
	if provider == "" {
		provider = unknownProvider
	}
	pm := m.of(provider)
	pm.requests[o].Inc()
	pm.duration.Observe(took.Seconds())
}

// routedEvent counts the routing result of an accepted event.
func (m *metrics) routedEvent(provider string, r routeResult) {
	m.of(provider).routed[r].Inc()
}
