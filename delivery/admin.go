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

// List returns up to limit deliveries of environment env, ordered by id,
// after the id after: with status "dead" the dead letters (dead and gone),
// with "pending" those waiting for an attempt.
func (s *Service) List(env, status, after string, limit int) ([]Info, error) {
	st := spool.StatusPending
	switch status {
	case "pending":
	case "dead":
		st = spool.StatusDead
	default:
		return nil, ErrBadStatus
	}
	ds, err := s.spool.List(env, st, after, limit)
	if err != nil {
		return nil, err
	}
	out := make([]Info, len(ds))
	for i, d := range ds {
		out[i] = infoOf(d)
	}
	return out, nil
}

// Get returns delivery id of environment env, pending or dead, with its
// attempt history; ErrNotFound when there is none (a delivered one is
// gone from the spool).
func (s *Service) Get(env, id string) (*Detail, error) {
	d, err := s.spool.Get(env, id)
	if errors.Is(err, spool.ErrNotFound) {
		return nil, fmt.Errorf("no delivery %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	out := &Detail{Info: infoOf(d), History: make([]AttemptInfo, len(d.History))}
	first := d.Attempts - len(d.History) + 1
	for i, a := range d.History {
		out.History[i] = AttemptInfo{Number: first + i, At: a.At.UTC(), Duration: a.Duration.Seconds(), Status: a.Status, Error: a.Error}
	}
	return out, nil
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
