//go:build race

package spool

// raceEnabled: the race detector slows the model test several times, so it
// runs fewer steps.
const raceEnabled = true
