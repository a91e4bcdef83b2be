//go:build !race

package gateway_test

// raceSlowdown scales latency bounds (see slowdown_race_test.go).
const raceSlowdown = 1
