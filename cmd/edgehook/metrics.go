package main

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/edgehook/edgehook/config"
	"github.com/edgehook/edgehook/hooks"
)

type fasthttpHandler = fasthttp.RequestHandler

// metricsHandler serves edgehook's own registry (SPEC §10) together with
// the default one (Go runtime and process metrics, and the embedded
// etcd's) on the admin listener, with prometheus/client_golang, the
// reference exposition library.
func metricsHandler(own *prometheus.Registry) fasthttp.RequestHandler {
	return fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(
		prometheus.Gatherers{own, prometheus.DefaultGatherer},
		promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
}

// registerCache exposes the config cache's counters.
func registerCache(reg prometheus.Registerer, c *config.Cache) {
	counter := func(name, help string, v func(config.CacheStats) int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(v(c.Stats())) })
	}
	reg.MustRegister(
		counter("edgehook_config_cache_hits_total", "Configuration lookups answered from the cache.",
			func(s config.CacheStats) int64 { return s.Hits }),
		counter("edgehook_config_cache_misses_total", "Configuration lookups that read etcd.",
			func(s config.CacheStats) int64 { return s.Misses }),
		counter("edgehook_config_watch_resyncs_total", "Resynchronisations of the config cache after its etcd watch broke or was compacted.",
			func(s config.CacheStats) int64 { return s.Resyncs }),
	)
}

// registerHooks exposes the lifecycle hook tasks (SPEC §9) by status, and
// this instance's failed hook attempts.
func registerHooks(reg prometheus.Registerer, w *hooks.Worker) {
	for _, st := range []string{config.TaskPending, config.TaskRunning, config.TaskFailed} {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "edgehook_hook_tasks",
			Help:        "Open connection lifecycle hook tasks in the cluster, by status, as of this instance's last scan.",
			ConstLabels: prometheus.Labels{"status": st},
		}, func() float64 { return float64(w.HookTasks(st)) }))
	}
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "edgehook_hook_failures_total",
		Help: "Failed lifecycle hook attempts on this instance.",
	}, func() float64 { return float64(w.HookFailures()) }))
}

// registerFaults exposes what SPEC §11 says an operator sees of an etcd
// outage and of unknown routing credentials: whether etcd answers, how
// long the config cache has served entries without a watch, and the
// events dropped for a credential no connection has.
func registerFaults(reg prometheus.Registerer, etcdUp func() bool, c *config.Cache, unknown func() int64) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "edgehook_etcd_up",
			Help: "1 while this instance's etcd client answers, 0 during an outage."},
			func() float64 {
				if etcdUp() {
					return 1
				}
				return 0
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "edgehook_config_stale_seconds",
			Help: "How long the config cache has served last known good entries without its etcd watch; 0 while the watch is in force."},
			func() float64 {
				st := c.Status()
				if st.StaleSince.IsZero() {
					return 0
				}
				return time.Since(st.StaleSince).Seconds()
			}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "edgehook_unknown_credentials_total",
			Help: "Events whose routing credential (Streak's token) no connection has: answered alike, dropped."},
			func() float64 { return float64(unknown()) }),
	)
}
