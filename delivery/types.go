// Package delivery makes accepted events durable and delivers them: it
// turns an Event into a spool batch (delivery/spool: the durable queue
// that owns every delivery's state), runs the scheduler that grants
// attempts fairly across destinations (delivery/scheduler), and makes each
// attempt with the sender (delivery/sender: HTTP client, outgoing-address
// guard, signatures), recording its result in the spool.
package delivery

import (
	"errors"
	"time"

	"github.com/edgehook/edgehook/delivery/spool"
)

// Event is one accepted provider request (or notification), as the
// gateway hands it to Service.Accept. Accept copies what it keeps; the
// caller may reuse the Event and every slice in it once Accept returns.
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
	// sender.AppendPassedHeader.
	Header []byte
	// Parts are the payloads: one for most events, one per connection
	// where a batch is split (HubSpot). Each is stored once, however many
	// targets need it.
	Parts [][]byte
	// Targets are the deliveries to make.
	Targets []Target
	// WantIDs makes Accept report the deliveries' ids (Result.Deliveries).
	WantIDs bool
}

// Target is one delivery of an event: one kind, one connection, one URL.
type Target struct {
	Kind         spool.Kind
	ConnectionID string // "" forwards "connectionId": null
	URL          string
	Part         int    // index in Event.Parts
	SyncName     string // runner and sync deliveries
	Model        string // runner and sync deliveries
}

// Result is what Accept reports.
type Result struct {
	ID        string // the event id (the first event's id for a duplicate)
	Duplicate bool
	// Deliveries are the ids of the deliveries spooled, in the order of
	// their targets, when Event.WantIDs is set (none for a duplicate).
	Deliveries []string
}

// ErrOverloaded is returned by Accept when the spool is full or too many
// requests wait for a sync; the gateway answers 503 with Retry-After and
// nothing is spooled.
var ErrOverloaded = errors.New("delivery: spool saturated")

// ErrUnavailable is returned by Accept while the spool cannot write (a
// write failed: a full disk, an I/O error; it reopens itself when the disk
// has room). The gateway answers 503 with Retry-After; nothing was
// spooled. It is spool.ErrUnavailable.
var ErrUnavailable = spool.ErrUnavailable

// ErrNotFound is returned for an unknown delivery id.
var ErrNotFound = errors.New("delivery: not found")
