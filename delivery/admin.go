package delivery

import (
	"errors"
	"fmt"
	"time"

	"github.com/edgehook/edgehook/delivery/spool"
)

// ErrBadStatus is returned by List for a status other than "dead" or
// "pending".
var ErrBadStatus = errors.New(`delivery: status must be "dead" or "pending"`)

// Info is one delivery as the admin API lists it.
type Info struct {
	ID           string     `json:"id"`
	EventID      string     `json:"event_id"`
	Kind         string     `json:"kind"` // forward, runner or sync
	Integration  string     `json:"integration"`
	ConnectionID *string    `json:"connection_id"` // null for an unmatched event
	SyncName     string     `json:"sync_name,omitempty"`
	URL          string     `json:"url"`
	Destination  string     `json:"destination"`
	Status       string     `json:"status"` // pending, dead or gone
	Reason       string     `json:"reason,omitempty"`
	Attempts     int        `json:"attempts"`
	LastStatus   int        `json:"last_status,omitempty"`
	LastError    string     `json:"last_error,omitempty"` // the last attempt's failure: its error, or "HTTP <status>"
	Created      time.Time  `json:"created"`
	LastAttempt  *time.Time `json:"last_attempt,omitempty"`
	NextAttempt  *time.Time `json:"next_attempt,omitempty"`
}

// AttemptInfo is one attempt of a delivery's history.
type AttemptInfo struct {
	Number   int       `json:"number"`
	At       time.Time `json:"at"`
	Duration float64   `json:"duration_seconds"`
	Status   int       `json:"status,omitempty"`
	Error    string    `json:"error,omitempty"`
}

// Detail is one delivery with its attempt history (the last
// spool.MaxHistory attempts).
type Detail struct {
	Info
	History []AttemptInfo `json:"attempts_history"`
}

func infoOf(d *spool.Delivery) Info {
	in := Info{
		ID: d.ID, EventID: d.EventID, Kind: d.Kind.String(), Integration: d.Integration, SyncName: d.SyncName,
		URL: d.URL, Destination: d.Dest, Status: d.Status.String(), Reason: d.Reason, Attempts: d.Attempts,
		Created: d.Created.UTC(),
	}
	if d.ConnectionID != "" {
		in.ConnectionID = &d.ConnectionID
	}
	if a, ok := d.Last(); ok {
		in.LastStatus, in.LastError = a.Status, describe(a) // "HTTP 503" for a failed reply
		t := a.At.UTC()
		in.LastAttempt = &t
	}
	if d.Status == spool.StatusPending {
		t := d.Due.UTC()
		in.NextAttempt = &t
	}
	return in
}

// statusDelivered is the status of a journal entry: a delivery this
// instance delivered recently.
const statusDelivered = "delivered"

// maxScan bounds the stored deliveries one List or FindEvent call reads
// when it filters: a filtered list that reached it returns what it found
// with Next set, so the caller reads on from there.
const maxScan = 10_000

// Query selects deliveries of one environment for List.
type Query struct {
	// Status: "dead" (dead and gone), "pending", or "delivered" (the last
	// Options.Journal deliveries this instance delivered, newest first).
	Status       string
	Integration  string // "" for any
	ConnectionID string // "" for any
	After        string // the last id of the previous page; "" for the first
	Limit        int
}

// match reports whether a delivery of integration and connectionID ("" for
// an unmatched event) passes q's filters.
func (q *Query) match(integration, connectionID string) bool {
	return (q.Integration == "" || integration == q.Integration) &&
		(q.ConnectionID == "" || connectionID == q.ConnectionID)
}

// List returns up to q.Limit deliveries of environment env that q selects,
// in the spool's order (by id on the embedded store), after q.After; next
// is the id to pass as After for the following page, "" when there is
// none.
func (s *Service) List(env string, q Query) (out []Info, next string, err error) {
	st := spool.StatusPending
	switch q.Status {
	case "pending":
	case "dead":
		st = spool.StatusDead
	case statusDelivered:
		return s.listRecent(env, q)
	default:
		return nil, "", ErrBadStatus
	}
	after, scanned := q.After, 0
	for len(out) < q.Limit {
		ds, err := s.spool.List(env, st, after, q.Limit)
		if err != nil {
			return nil, "", err
		}
		for i, d := range ds {
			after, scanned = d.ID, scanned+1
			if q.match(d.Integration, d.ConnectionID) {
				out = append(out, infoOf(d))
			}
			if len(out) == q.Limit && i < len(ds)-1 {
				return out, after, nil
			}
		}
		if len(ds) < q.Limit {
			return out, "", nil // the end
		}
		if scanned >= maxScan {
			break
		}
	}
	return out, after, nil
}

// listRecent is List of the journal.
func (s *Service) listRecent(env string, q Query) (out []Info, next string, _ error) {
	skip := q.After != ""
	s.recent.each(env, func(e *journalEntry) bool {
		switch {
		case skip:
			skip = e.id != q.After
		case q.match(e.integration, e.connectionID):
			if len(out) == q.Limit {
				next = out[len(out)-1].ID
				return false
			}
			out = append(out, e.detail().Info)
		}
		return true
	})
	return out, next, nil
}

// FindEvent returns the deliveries of event eventID of environment env
// that this instance knows: pending and dead ones in the spool (the
// first maxScan of each list are read) and those it delivered recently
// (the journal). None is an empty list, not an error.
func (s *Service) FindEvent(env, eventID string) ([]Detail, error) {
	var out []Detail
	s.recent.each(env, func(e *journalEntry) bool {
		if e.eventID == eventID {
			out = append(out, *e.detail())
		}
		return true
	})
	for _, st := range [...]spool.Status{spool.StatusPending, spool.StatusDead} {
		after := ""
		for scanned := 0; scanned < maxScan; {
			ds, err := s.spool.List(env, st, after, 1000)
			if err != nil {
				return nil, err
			}
			for _, d := range ds {
				if d.EventID == eventID {
					out = append(out, *detailOf(d))
				}
				after = d.ID
			}
			scanned += len(ds)
			if len(ds) < 1000 {
				break
			}
		}
	}
	return out, nil
}

// EventFor returns the id of the event a provider's own delivery id (the
// dedupe key, such as X-GitHub-Delivery) of integration integ became,
// while its dedupe record lives (the integration's dedupe window).
func (s *Service) EventFor(env, integ, key string) (string, bool, error) {
	return s.spool.Dedupe(env, integ, key, s.opts.Now())
}

// Get returns delivery id of environment env, pending or dead, with its
// attempt history, or one this instance delivered recently; ErrNotFound
// when there is none.
func (s *Service) Get(env, id string) (*Detail, error) {
	d, err := s.spool.Get(env, id)
	if errors.Is(err, spool.ErrNotFound) {
		var found *Detail
		s.recent.each(env, func(e *journalEntry) bool {
			if e.id == id {
				found = e.detail()
			}
			return found == nil
		})
		if found != nil {
			return found, nil
		}
		return nil, fmt.Errorf("no delivery %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	return detailOf(d), nil
}

// detailOf is d as the admin API shows it, with its attempt history.
func detailOf(d *spool.Delivery) *Detail {
	out := &Detail{Info: infoOf(d), History: make([]AttemptInfo, len(d.History))}
	first := d.Attempts - len(d.History) + 1
	for i, a := range d.History {
		out.History[i] = attemptInfo(first+i, a)
	}
	return out
}

func attemptInfo(n int, a spool.Attempt) AttemptInfo {
	return AttemptInfo{Number: n, At: a.At.UTC(), Duration: a.Duration.Seconds(), Status: a.Status, Error: a.Error}
}

// Retry makes dead letter id of environment env pending again, due now,
// with a fresh retry schedule. An id that is no dead letter of env
// (unknown, pending, delivered, or of another environment) is ErrNotFound.
func (s *Service) Retry(env, id string) error {
	now := s.opts.Now()
	d, err := s.spool.Redrive(env, id, now, now.Add(s.span))
	if errors.Is(err, spool.ErrNotFound) {
		return fmt.Errorf("no dead letter %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return err
	}
	s.log.Info("delivery: dead letter retried", "delivery", id, "env", env)
	s.sched.Notify(d.Dest, d.Due)
	return nil
}

// EventReport is what the admin API shows of one event: its deliveries
// that are pending, dead, or recently delivered.
type EventReport struct {
	EventID    string   `json:"event_id"`
	Deliveries []Detail `json:"deliveries"`
}
