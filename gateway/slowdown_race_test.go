//go:build race

package gateway_test

// raceSlowdown scales latency bounds: the race detector slows the gateway
// several times over.
const raceSlowdown = 4
