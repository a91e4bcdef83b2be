// Package delivery makes accepted events durable and forwards them to the
// customer's app: the spool (an interface, with a Pebble implementation),
// a bounded ants worker pool, per-destination queues with their own
// backoff, concurrency cap and circuit state, the retry schedule and dead
// letters, and the Nango-compatible forward format with its signatures.
package delivery

import (
	"errors"
	"time"
)

// Event is one accepted provider request, as the gateway hands it to
// Service.Accept. Accept copies what it keeps; the caller may reuse the
// Event and every slice in it once Accept returns.
type Event struct {
	Env         string
	Integration string
	Provider    string
	// DedupeKey is the provider's delivery id ("" when it has none);
	// another event with the same key within DedupeTTL is a duplicate.
	// Without a key or with a zero DedupeTTL nothing is deduplicated.
	DedupeKey   string
	DedupeTTL   time.Duration
	TraceParent string
	// Header holds the provider headers to pass through, encoded with
	// AppendPassedHeader, which leaves out those the forward must not
	// carry.
	Header   []byte
	Forwards []Forward
}

// Forward is one POST to make: one matched connection and one URL.
type Forward struct {
	ConnectionID string // "" forwards "connectionId": null
	URL          string
	Payload      []byte // JSON, verbatim
}

// Result is what Accept reports.
type Result struct {
	ID        string // the event id (the first event's id for a duplicate)
	Duplicate bool
}

// ErrOverloaded is returned by Accept when the spool is saturated; the
// gateway answers 503 with Retry-After and nothing is spooled.
var ErrOverloaded = errors.New("delivery: spool saturated")

// ErrNotFound is returned for an unknown delivery id.
var ErrNotFound = errors.New("delivery: not found")
