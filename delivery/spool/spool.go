// Package spool is edgehook's durable delivery queue. It owns every piece
// of delivery state: the events' bodies (stored once, however many
// deliveries need them), the deliveries queued per destination by due
// time, their leases, attempt histories, dead letters and dedupe records.
// Its callers (the scheduler, the attempt loop, the admin API) ask it;
// they keep no copy of its state.
//
// Two stores implement the Spool interface: the embedded Pebble store
// (Open), on the instance's own disk, and a NATS JetStream stream
// (OpenJetStream), replicated and shared by every instance (js.go has its
// layout: Lease is a pull fetch with an ack wait, Reschedule a scheduled
// message, Ack an acknowledgement, dedupe a record with a TTL).
package spool

import (
	"errors"
	"time"
)

// Spool is a durable queue of deliveries. Methods are safe for concurrent
// use. Values passed in are not retained unless said; values returned
// belong to the caller.
type Spool interface {
	// Append stores one event atomically and durably (synced; concurrent
	// Appends share a sync): its bodies once, its deliveries, and its
	// dedupe record when b.Dedupe is set. A live dedupe record for the
	// same key makes it store nothing and report the first event's id. It
	// returns ErrOverloaded, storing nothing, when a byte or count budget
	// would be exceeded.
	Append(b *Batch) (AppendResult, error)
	// Lease leases up to max deliveries of dest that are due at now, first
	// attempts before retries, each until now+ttl. A leased delivery is
	// not leased again until it is acked, rescheduled, dead-lettered or
	// released, or its lease expires. A lease also ends with the process
	// holding it: the embedded store's come back at its next open,
	// JetStream's after the stream's ack wait, on any instance. next is
	// the earliest due time of the deliveries of dest left unleased, as
	// Next reports it.
	Lease(dest string, now time.Time, max int, ttl time.Duration) (ds []*Delivery, next time.Time, err error)
	// Body returns the stored body a leased or dead delivery needs.
	Body(d *Delivery) (*Body, error)
	// Ack ends a leased delivery that was delivered, recording attempt a
	// (for the history of what follows, when then is set). When then is
	// not nil, it is appended in the same write, and that write is synced:
	// what follows (a sync webhook made from a runner's reply) exists
	// nowhere else once the delivery is gone.
	Ack(d *Delivery, a Attempt, then *Batch) error
	// Reschedule records attempt a of a leased delivery and makes it due
	// again at due.
	Reschedule(d *Delivery, a Attempt, due time.Time) error
	// Dead records attempt a of a leased delivery (none when a.At is
	// zero) and makes it a dead letter with status (StatusDead or
	// StatusGone) and reason.
	Dead(d *Delivery, a Attempt, status Status, reason string) error
	// Release ends a lease without an attempt (shutdown, or a failure of
	// ours, not the destination's): the delivery is due again at due.
	Release(d *Delivery, due time.Time) error
	// Redrive makes dead letter id of environment env pending again, due
	// at now, with a fresh retry schedule that runs out at expires, and
	// returns it. An id that is no dead letter of env is ErrNotFound.
	Redrive(env, id string, now, expires time.Time) (*Delivery, error)
	// Get returns delivery id of environment env, pending or dead, with its
	// attempt history, or ErrNotFound.
	Get(env, id string) (*Delivery, error)
	// List returns up to limit deliveries of env with the given status
	// (StatusDead lists dead and gone) in the store's order, after the
	// delivery after (the last id of the previous page; "" for the
	// first): the embedded store orders them by id, JetStream by when
	// they were written.
	List(env string, status Status, after string, limit int) ([]*Delivery, error)
	// Next returns when dest's earliest unleased delivery is due: zero
	// when it has none, now when that is not known without reading the
	// store. It reads memory only. A shared store knows another
	// instance's work only once it hears of it (see Watch).
	Next(dest string, now time.Time) time.Time
	// Destinations returns every destination with unleased deliveries and
	// when its earliest is due, as Next does.
	Destinations(now time.Time) []DestDue
	// Watch registers f, called when the spool learns of due work that
	// this process did not announce itself: another instance's appends,
	// retries falling due on the store's own schedule. The embedded
	// store holds only what its process wrote and never calls f.
	Watch(f func(dest string, due time.Time))
	// Pending returns how many pending deliveries dest has, leased or
	// not (for the admin API's destination listing). It reads memory
	// only.
	Pending(dest string) int64
	// Rest says dest's circuit opened (resting) or closed again. While it
	// rests the spool keeps nothing in memory for it beyond what a Lease
	// asks for.
	Rest(dest string, resting bool)
	// Sweep dead-letters, with reason, up to max due and unleased
	// deliveries of resting destinations whose retry schedule has run out
	// at now (Expires not after now), and returns them. It is how a
	// destination's backlog ends while its circuit keeps it from being
	// leased: without it the backlog would grow for as long as the rest
	// lasts. Call it about once a second; it reads only the queues whose
	// earliest expiry has come.
	Sweep(now time.Time, max int, reason string) ([]*Delivery, error)
	// Dedupe returns the event id the live dedupe record of (env, integ,
	// key) names at now, and false when there is none (never recorded,
	// expired, or dedupe off for the integration). It is how a provider's
	// own delivery id (X-GitHub-Delivery) finds the event it became.
	Dedupe(env, integ, key string, now time.Time) (eventID string, ok bool, err error)
	// Expire removes dedupe records expired at now and dead letters older
	// than deadBefore, up to max of each, and reports how many it removed.
	Expire(now, deadBefore time.Time, max int) (int, error)
	// Stats returns counters of the stored state.
	Stats() Stats
	// Close closes the store; leases end with it.
	Close() error
}

// Kind is what a delivery carries (SPEC §6, §8).
type Kind uint8

// Delivery kinds.
const (
	KindForward Kind = iota // a provider event forwarded to the app
	KindRunner              // a provider event posted to a webhook-enabled sync's runner
	KindSync                // a sync webhook posted to the app
)

func (k Kind) String() string {
	switch k {
	case KindRunner:
		return "runner"
	case KindSync:
		return "sync"
	}
	return "forward"
}

// Status is a delivery's state. A delivered delivery is removed.
type Status uint8

// Delivery states.
const (
	StatusPending Status = iota // waiting for its next attempt
	StatusDead                  // schedule exhausted, or unusable; listed, retryable
	StatusGone                  // the app answered 410; listed, retryable
)

// String returns the status as the admin API names it.
func (s Status) String() string {
	switch s {
	case StatusDead:
		return "dead"
	case StatusGone:
		return "gone"
	}
	return "pending"
}

// MaxHistory is how many attempts a delivery keeps in its history.
const MaxHistory = 20

// maxErrorText bounds an attempt's error text.
const maxErrorText = 256

// Attempt is one attempt of a delivery, as its history keeps it.
type Attempt struct {
	At       time.Time
	Duration time.Duration
	Status   int    // HTTP status of the reply, 0 when none came
	Error    string // transport or other error, "" when a reply came
}

// Delivery is one delivery: one event (or notification) for one
// destination URL, with its retry state.
type Delivery struct {
	ID           string // the webhook-id; unique in the spool
	EventID      string
	Kind         Kind
	Env          string
	Integration  string
	Provider     string
	ConnectionID string // "" for an unmatched event
	SyncName     string // runner and sync deliveries
	Model        string // runner and sync deliveries
	URL          string
	Dest         string // scheme://host:port, the unit of scheduling
	Part         int    // which body of its event it carries
	TraceParent  string // the event's trace context
	Received     time.Time
	Created      time.Time
	Due          time.Time // next attempt, while pending; when it died, for a dead letter
	Expires      time.Time // when its retry schedule has run out however few attempts it got
	Attempts     int       // attempts made
	Base         int       // Attempts when the retry schedule last (re)started
	Status       Status
	Reason       string    // why it is a dead letter
	History      []Attempt // the last MaxHistory attempts, oldest first

	refs   int    // deliveries sharing its body, when appended
	bsize  int64  // bytes its body takes, accounted when the body goes
	blob   bool   // its body is in a blob file
	inline []byte // its body's value, when the body is its own (stored in its record)
	moves  int    // times its record was rewritten
	rsize  int    // bytes of its encoded record (not stored)
	lease  uint64 // the lease it is held under, 0 when not leased
	bref   string // JetStream: the body it names, "" when inline
}

// First reports whether no attempt has been made yet.
func (d *Delivery) First() bool { return d.Attempts == 0 }

// Last returns the latest attempt, and false when none was made.
func (d *Delivery) Last() (Attempt, bool) {
	if len(d.History) == 0 {
		return Attempt{}, false
	}
	return d.History[len(d.History)-1], true
}

// record appends a to the history, keeping the last MaxHistory, and counts
// it.
func (d *Delivery) record(a Attempt) {
	if len(a.Error) > maxErrorText {
		a.Error = a.Error[:maxErrorText]
	}
	d.Attempts++
	d.History = append(d.History, a)
	if n := len(d.History); n > MaxHistory {
		d.History = append(d.History[:0:0], d.History[n-MaxHistory:]...)
	}
}

// Batch is one event to append: its bodies, its deliveries and its dedupe
// record.
type Batch struct {
	EventID string
	// Bodies are the event's payloads, each with the provider headers
	// passed through; a delivery names its body by Part.
	Bodies []BodyIn
	// Deliveries are new: pending, no attempts, Due set. Their ids must be
	// unique in the spool.
	Deliveries []*Delivery
	// Dedupe, when set, makes the append conditional on no live record of
	// its key.
	Dedupe *Dedupe
}

// BodyIn is one body to append. Payload is copied (or written out) by
// Append; it is not retained.
type BodyIn struct {
	Header  []byte // pass-through headers, sender.AppendHeader encoding
	Payload []byte
}

// Dedupe is the dedupe record of an event: (Env, Integration, Key) →
// EventID until Expires.
type Dedupe struct {
	Env, Integration, Key string
	EventID               string
	Now, Expires          time.Time
}

// AppendResult is what Append reports.
type AppendResult struct {
	Duplicate bool
	FirstID   string // the first event's id, for a duplicate
}

// DestDue is a destination with pending deliveries and when its earliest
// unleased one is due.
type DestDue struct {
	Dest string
	Due  time.Time
}

// Stats are counters of a spool's state.
type Stats struct {
	Pending     int64 // pending deliveries
	Dead        int64 // dead letters (dead and gone)
	Leased      int64 // deliveries under lease
	Bytes       int64 // bytes stored: deliveries, bodies and dedupe records
	DedupeBytes int64 // of which dedupe records
	BodyBytes   int64 // of which bodies
	MaxBytes    int64 // the byte budget
	Cached      int64 // deliveries held in memory, ready to lease
	CachedBytes int64 // bytes of bodies held in memory with them
	Scans       int64 // reads of a destination's queue from the disk so far
}

// Errors.
var (
	// ErrNotFound is returned for an unknown delivery.
	ErrNotFound = errors.New("spool: not found")
	// ErrOverloaded is returned by Append when a budget would be
	// exceeded; nothing is stored and the provider should retry.
	ErrOverloaded = errors.New("spool: full")
	// ErrLeaseLost is returned for a delivery whose lease expired and was
	// taken again; its result is not recorded.
	ErrLeaseLost = errors.New("spool: lease lost")
	// errBadPart is returned by Append for a delivery naming no body.
	errBadPart = errors.New("spool: a delivery names a body the batch does not have")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("spool: closed")
)
