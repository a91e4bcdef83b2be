package main

import (
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

type fasthttpHandler = fasthttp.RequestHandler

// metricsHandler serves the Prometheus registry (prometheus/client_golang,
// the reference exposition library) on the admin listener.
func metricsHandler() fasthttp.RequestHandler {
	return fasthttpadaptor.NewFastHTTPHandler(promhttp.Handler())
}
