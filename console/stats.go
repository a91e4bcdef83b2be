package console

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Stats returns what GET /v1/stats answers: the families of g the
// overview charts, each summed by one label, read from the same registry
// /metrics serves, so the console costs nothing on the request path.
// Counters are totals since start; the console derives rates from two
// readings.
func Stats(g prometheus.Gatherer) func() any {
	byLabel := map[string]struct{ key, label string }{
		"edgehook_ingress_requests_total": {"ingress", "outcome"},
		"edgehook_events_routed_total":    {"routed", "result"},
		"edgehook_deliveries_total":       {"deliveries", "outcome"},
		"edgehook_destinations":           {"destinations", "state"},
		"edgehook_hook_tasks":             {"hook_tasks", "status"},
	}
	single := map[string]string{
		"edgehook_spool_pending":             "spool_pending",
		"edgehook_pool_running":              "pool_running",
		"edgehook_pool_capacity":             "pool_capacity",
		"edgehook_etcd_up":                   "etcd_up",
		"edgehook_config_stale_seconds":      "config_stale_seconds",
		"edgehook_unknown_credentials_total": "unknown_credentials",
	}
	return func() any {
		out := map[string]any{"time": time.Now().UTC()}
		for _, s := range byLabel {
			out[s.key] = map[string]float64{}
		}
		fams, _ := g.Gather() // a family that fails is left out
		for _, f := range fams {
			if s, ok := byLabel[f.GetName()]; ok {
				m := out[s.key].(map[string]float64)
				for _, mt := range f.GetMetric() {
					m[label(mt, s.label)] += value(mt)
				}
			} else if k, ok := single[f.GetName()]; ok {
				var v float64
				for _, mt := range f.GetMetric() {
					v += value(mt)
				}
				out[k] = v
			}
		}
		return out
	}
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	}
	return 0
}
