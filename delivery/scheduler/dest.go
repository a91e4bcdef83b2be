package scheduler

import (
	"time"
)

// dest is the dispatcher's state of one destination.
type dest struct {
	key      string
	due      time.Time   // when it next has due work; zero: none known
	inflight int         // attempts granted and not reported
	started  []time.Time // their start times, oldest first
	limit    float64     // adaptive concurrency limit
	latency  time.Duration
	slow     bool // counted in Scheduler.slowInflight
	lastErr  string
	inRing   bool
	heapAt   int // index in the timer heap, -1 when not in it
	wakeAt   time.Time
	circuit
}

func newDest(key string, o *Options) *dest {
	return &dest{key: key, limit: float64(min(o.InitialLimit, o.cap())), heapAt: -1}
}

// maxInflight is how many attempts d may have in flight now: its limit
// within the cap, one probe while its circuit is open.
func (d *dest) maxInflight(o *Options) int {
	if d.open {
		return 1
	}
	return max(1, min(int(d.limit), o.cap()))
}

// isSlow reports whether d counts as slow: its replies take longer than
// SlowLatency, or its oldest attempt in flight has run longer.
func (d *dest) isSlow(now time.Time, o *Options) bool {
	return d.latency > o.SlowLatency || (len(d.started) > 0 && now.Sub(d.started[0]) > o.SlowLatency)
}

// observe adapts d's limit and latency to an attempt that took lat: a fast
// healthy reply raises the limit by one, a slow reply brings it down to
// cap × SlowLatency ÷ lat, so that a slow destination holds few workers.
func (d *dest) observe(r Report, o *Options) {
	lat := r.Latency
	if d.latency == 0 {
		d.latency = lat
	} else {
		d.latency = (4*d.latency + lat) / 5
	}
	cap := float64(o.cap())
	switch {
	case lat > o.SlowLatency:
		d.limit = max(1, min(d.limit, cap*float64(o.SlowLatency)/float64(lat)))
	case r.Healthy:
		d.limit = min(cap, d.limit+1)
	}
}

// finished removes the start time of an attempt begun at start.
func (d *dest) finished(start time.Time) {
	for i, t := range d.started {
		if t.Equal(start) {
			d.started = append(d.started[:i], d.started[i+1:]...)
			return
		}
	}
}

// DestInfo is a destination as the admin API lists it.
type DestInfo struct {
	Destination string     `json:"destination"`
	State       string     `json:"state"` // closed, open or half_open
	InFlight    int        `json:"in_flight"`
	Limit       int        `json:"limit"`
	Slow        bool       `json:"slow"`
	Latency     float64    `json:"latency_seconds"`
	LastError   string     `json:"last_error,omitempty"`
	NextProbe   *time.Time `json:"next_probe,omitempty"`
	Due         *time.Time `json:"next_due,omitempty"`
}

func (d *dest) info(now time.Time, o *Options) DestInfo {
	in := DestInfo{Destination: d.key, State: d.state(now), InFlight: d.inflight, Limit: d.maxInflight(o),
		Slow: d.isSlow(now, o), Latency: d.latency.Seconds(), LastError: d.lastErr}
	if d.open && !d.probing {
		t := d.until
		in.NextProbe = &t
	}
	if !d.due.IsZero() {
		t := d.due
		in.Due = &t
	}
	return in
}
