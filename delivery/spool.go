package delivery

import "time"

// Spool is the durable store behind a Service: pending deliveries with
// their forward bodies, queued per destination by due time, dead letters,
// and dedupe records. The Pebble store (OpenPebble) is the first
// implementation; the interface says nothing of keys or files so that a
// replicated backend (NATS JetStream) can implement it too.
//
// Methods are safe for concurrent use. Records passed in are not retained;
// records returned belong to the caller.
type Spool interface {
	// Append stores recs (with their Body) and, when d is non-nil, the
	// dedupe record, in one atomic write that is on stable storage when
	// Append returns; concurrent Appends share a sync. When d names a live
	// record it stores nothing and returns the first event's id and true.
	// Record ids are new (see newDeliveryID).
	Append(d *Dedupe, recs []*Record) (firstID string, dup bool, err error)
	// Destinations lists the destinations with pending deliveries.
	Destinations() ([]string, error)
	// Due returns up to max pending deliveries of dest due at or before
	// now, first attempts before retries, skipping ids for which held
	// returns true. next is the earliest due time of the pending
	// deliveries left on disk (now when max was reached, zero if none).
	// A delivery is returned once: the caller keeps it until it calls
	// Complete or Update for it, and only an Update that leaves it pending
	// makes it due again. Calls for one destination must not overlap. A
	// returned record may come without its Body (see Body).
	Due(dest string, now time.Time, max int, held func(id string) bool) (recs []*Record, next time.Time, err error)
	// Release says the caller no longer holds some of the deliveries of
	// dest it was given; they become due again for Due.
	Release(dest string)
	// Body returns the forward body of r, a record the Spool returned
	// without one, or ErrNotFound.
	Body(r *Record) ([]byte, error)
	// Dead returns dead letter id of environment env (dead or gone), or
	// ErrNotFound.
	Dead(env, id string) (*Record, error)
	// Update replaces prev, as it was read, with next (same id): a new due
	// time, a dead letter, or a dead letter made pending again. A nil
	// next.Body keeps prev's body.
	Update(prev, next *Record) error
	// Complete removes a delivered pending delivery.
	Complete(r *Record) error
	// List returns up to limit deliveries of env, without their bodies:
	// dead letters (dead and gone) when dead is true, else pending ones.
	List(env string, dead bool, limit int) ([]*Record, error)
	// Pending returns the number of pending deliveries stored.
	Pending() int64
	// ExpireDedupe removes up to max dedupe records expired at now and
	// returns how many it removed.
	ExpireDedupe(now time.Time, max int) (int, error)
	// Close closes the store.
	Close() error
}

// Dedupe is the dedupe record written with an event: (Env, Integration,
// Key) → EventID until Expires.
type Dedupe struct {
	Env, Integration, Key string
	EventID               string
	Now, Expires          time.Time
}
