package delivery

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgehook/edgehook/delivery/spool"
)

// Delivery outcomes, as edgehook_deliveries_total counts them.
const (
	outcomeDelivered = "delivered"
	outcomeRetried   = "retried"
	outcomeDead      = "dead"
	outcomeGone      = "gone"
)

var (
	kinds    = [...]spool.Kind{spool.KindForward, spool.KindRunner, spool.KindSync}
	outcomes = [...]string{outcomeDelivered, outcomeRetried, outcomeDead, outcomeGone}
)

// attemptBuckets span an app's reply from 5 ms to the 20 s attempt
// timeout.
var attemptBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 20}

// commitBuckets span a synced spool write from 100 µs to a second.
var commitBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1}

// metrics are the delivery families of SPEC §10 that attempts and appends
// update. Every series is resolved when the Service is made, so that an
// update is one atomic operation: no lock, no allocation.
type metrics struct {
	deliveries [len(kinds)][len(outcomes)]prometheus.Counter
	attempt    [len(kinds)]prometheus.Observer
	commit     prometheus.Observer
}

func newMetrics(reg prometheus.Registerer, s *Service) *metrics {
	deliveries := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edgehook_deliveries_total",
		Help: "Delivery attempts by kind (forward, runner, sync) and what became of the delivery: delivered, retried, dead (dead-lettered), gone (410).",
	}, []string{"kind", "outcome"})
	attempt := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "edgehook_delivery_attempt_duration_seconds",
		Help:    "Duration of one delivery attempt, request to reply, by kind.",
		Buckets: attemptBuckets,
	}, []string{"kind"})
	commit := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "edgehook_spool_commit_duration_seconds",
		Help:    "Duration of the durable (synced) spool write of an accepted event, which the acknowledgement waits for.",
		Buckets: commitBuckets,
	})
	m := &metrics{commit: commit}
	for i, k := range kinds {
		for j, o := range outcomes {
			m.deliveries[i][j] = deliveries.WithLabelValues(k.String(), o)
		}
		m.attempt[i] = attempt.WithLabelValues(k.String())
	}
	if reg != nil {
		reg.MustRegister(deliveries, attempt, commit, &collector{s: s})
	}
	return m
}

// delivered counts what became of a delivery of kind k after an attempt.
func (m *metrics) delivered(k spool.Kind, outcome string) {
	if int(k) >= len(kinds) {
		return
	}
	for j, o := range outcomes {
		if o == outcome {
			m.deliveries[k][j].Inc()
			return
		}
	}
}

// attempted observes an attempt's duration.
func (m *metrics) attempted(k spool.Kind, d time.Duration) {
	if int(k) < len(kinds) {
		m.attempt[k].Observe(d.Seconds())
	}
}

// collector reads, at scrape time, what the spool, the scheduler and the
// worker pool own: nothing is copied out of them in between.
type collector struct{ s *Service }

var (
	descPending     = prometheus.NewDesc("edgehook_spool_pending", "Pending deliveries in the spool, leased or not.", nil, nil)
	descDead        = prometheus.NewDesc("edgehook_spool_dead", "Dead letters (dead and gone) kept in the spool.", nil, nil)
	descLeased      = prometheus.NewDesc("edgehook_spool_leased", "Deliveries under lease: an attempt is being made.", nil, nil)
	descBytes       = prometheus.NewDesc("edgehook_spool_bytes", "Bytes the spool stores: deliveries, bodies and dedupe records.", nil, nil)
	descMaxBytes    = prometheus.NewDesc("edgehook_spool_max_bytes", "The spool's byte budget; past it, ingress answers 503.", nil, nil)
	descDests       = prometheus.NewDesc("edgehook_destinations", "Destinations the scheduler knows, by circuit state (closed, open, half_open).", []string{"state"}, nil)
	descPoolRunning = prometheus.NewDesc("edgehook_pool_running", "Delivery workers running an attempt.", nil, nil)
	descPoolCap     = prometheus.NewDesc("edgehook_pool_capacity", "Size of the delivery worker pool.", nil, nil)
)

// circuitStates are the states edgehook_destinations always shows.
var circuitStates = [...]string{"closed", "open", "half_open"}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPending, descDead, descLeased, descBytes, descMaxBytes, descDests, descPoolRunning, descPoolCap} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.spool.Stats()
	gauge := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	gauge(descPending, st.Pending)
	gauge(descDead, st.Dead)
	gauge(descLeased, st.Leased)
	gauge(descBytes, st.Bytes)
	gauge(descMaxBytes, st.MaxBytes)
	running, capacity := c.s.sched.Pool()
	gauge(descPoolRunning, int64(running))
	gauge(descPoolCap, int64(capacity))
	ds, err := c.s.sched.Destinations()
	if err != nil {
		return // stopped
	}
	var n [len(circuitStates)]int64
	for _, d := range ds {
		for i, s := range circuitStates {
			if d.State == s {
				n[i]++
			}
		}
	}
	for i, s := range circuitStates {
		gauge(descDests, n[i], s)
	}
}
