package delivery

import (
	"errors"
	"fmt"
	"time"
)

// ErrBadStatus is returned by List for a status other than "dead" or
// "pending".
var ErrBadStatus = errors.New(`delivery: status must be "dead" or "pending"`)

// Info is one delivery as the admin API lists it.
type Info struct {
	ID           string     `json:"id"`
	EventID      string     `json:"event_id"`
	Integration  string     `json:"integration"`
	ConnectionID *string    `json:"connection_id"` // null for an unmatched event
	URL          string     `json:"url"`
	Status       string     `json:"status"` // pending, dead or gone
	Attempts     int        `json:"attempts"`
	LastStatus   int        `json:"last_status,omitempty"`
	LastError    string     `json:"last_error,omitempty"`
	Created      time.Time  `json:"created"`
	LastAttempt  *time.Time `json:"last_attempt,omitempty"`
	NextAttempt  *time.Time `json:"next_attempt,omitempty"`
}

func infoOf(r *Record) Info {
	in := Info{
		ID: r.ID, EventID: r.EventID, Integration: r.Integration, URL: r.URL,
		Status: r.Status.String(), Attempts: r.Attempts, LastStatus: r.LastStatus,
		LastError: r.LastError, Created: r.Created.UTC(),
	}
	if r.ConnectionID != "" {
		in.ConnectionID = &r.ConnectionID
	}
	if !r.LastAttempt.IsZero() {
		t := r.LastAttempt.UTC()
		in.LastAttempt = &t
	}
	if r.Status == StatusPending {
		t := r.Due.UTC()
		in.NextAttempt = &t
	}
	return in
}

// List returns up to limit deliveries of environment env: with status
// "dead" the dead letters (dead and gone), with "pending" those waiting for
// an attempt.
func (s *Service) List(env, status string, limit int) ([]Info, error) {
	if status != "dead" && status != "pending" {
		return nil, ErrBadStatus
	}
	var recs []*Record
	err := s.withStore(func() (err error) {
		recs, err = s.spool.List(env, status == "dead", limit)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]Info, len(recs))
	for i, r := range recs {
		out[i] = infoOf(r)
	}
	return out, nil
}

// Retry makes dead letter id of environment env pending again, due now,
// with a fresh retry schedule. An id that is no dead letter of env
// (unknown, pending, delivered, or of another environment) is ErrNotFound.
func (s *Service) Retry(env, id string) error {
	s.adminMu.Lock()
	defer s.adminMu.Unlock()
	var r *Record
	err := s.withStore(func() (err error) {
		r, err = s.spool.Dead(env, id)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("no dead letter %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return err
	}
	now := s.opts.Now()
	next := *r
	next.Status, next.Base, next.Due = StatusPending, r.Attempts, now
	if err := s.withStore(func() error { return s.spool.Update(r, &next) }); err != nil {
		return err
	}
	s.log.Info("delivery: dead letter retried", "delivery", id, "env", env)
	s.wakeDest(r.Dest, now)
	return nil
}
