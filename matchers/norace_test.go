//go:build !race

package matchers

const raceEnabled = false
