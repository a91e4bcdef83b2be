//go:build race

package gateway

// raceEnabled: the race detector drops sync.Pool items on purpose, so
// allocation counts are meaningless and AllocsPerRun checks are skipped.
const raceEnabled = true
