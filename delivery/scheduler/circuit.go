package scheduler

import "time"

// circuit is a destination's breaker. Closed: attempts flow. After
// threshold consecutive failed attempts it opens for a cooldown; then one
// probe is let through (half-open). A success closes it; a failed probe
// reopens it with the cooldown doubled, up to a maximum.
type circuit struct {
	fails    int
	open     bool
	probing  bool
	until    time.Time
	cooldown time.Duration
}

// allow reports whether an attempt may start now. It does not change the
// state: the caller calls started once the attempt is really under way.
func (c *circuit) allow(now time.Time) bool {
	return !c.open || (!c.probing && !now.Before(c.until))
}

// started notes that an attempt allowed by allow began; on an open circuit
// it is the single probe.
func (c *circuit) started() {
	if c.open {
		c.probing = true
	}
}

// blocked reports whether the circuit is open and still cooling down at
// now; the loader then leaves the destination's backlog on disk.
func (c *circuit) blocked(now time.Time) bool {
	return c.open && (c.probing || now.Before(c.until))
}

// record notes an attempt's outcome and reports whether the circuit
// changed state: closed to open, a failed probe back to open, or closed
// again.
func (c *circuit) record(ok bool, now time.Time, o *Options) (changed bool) {
	if ok {
		changed = c.open
		*c = circuit{}
		return changed
	}
	c.fails++
	switch {
	case c.probing:
		c.probing = false
		c.cooldown = min(2*c.cooldown, o.CircuitMaxCooldown)
		c.until = now.Add(c.cooldown)
		return true
	case !c.open && c.fails >= o.CircuitThreshold:
		c.open = true
		c.cooldown = o.CircuitCooldown
		c.until = now.Add(c.cooldown)
		return true
	}
	return false
}

// state names the circuit's state at now: closed, open (resting), or
// half_open (its probe may go, or is under way).
func (c *circuit) state(now time.Time) string {
	switch {
	case !c.open:
		return "closed"
	case c.probing || !now.Before(c.until):
		return "half_open"
	}
	return "open"
}
