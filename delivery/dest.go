package delivery

import (
	"fmt"
	"maps"
	"net/url"
	"strings"
	"sync"
	"time"
)

// dest is the in-memory state of one destination (scheme://host:port):
// its ready queues, in-flight count, disk wake-up time and circuit.
// Every field is guarded by Service.mu.
type dest struct {
	key      string
	first    []*Record       // ready first attempts; taken before retries
	retry    []*Record       // ready retries
	held     map[string]bool // ids in memory: ready or in flight
	inflight int
	wake     time.Time       // when the disk queue has due work; zero: none known
	gen      uint64          // bumped whenever work lands on disk
	loading  bool            // a load of its disk queue is running
	pushed   map[string]bool // ids queued at accept time during that load
	circuit
}

func newDest(key string) *dest {
	return &dest{key: key, held: map[string]bool{}}
}

// ready returns the number of deliveries waiting in memory.
func (d *dest) ready() int { return len(d.first) + len(d.retry) }

// push queues a loaded delivery.
func (d *dest) push(r *Record) {
	d.held[r.ID] = true
	if r.first() {
		d.first = append(d.first, r)
	} else {
		d.retry = append(d.retry, r)
	}
}

// pop takes the next delivery to send, first attempts first.
func (d *dest) pop() *Record {
	if len(d.first) > 0 {
		r := d.first[0]
		d.first[0] = nil
		d.first = d.first[1:]
		return r
	}
	r := d.retry[0]
	d.retry[0] = nil
	d.retry = d.retry[1:]
	return r
}

// unpop puts back a delivery pop returned.
func (d *dest) unpop(r *Record) {
	if r.first() {
		d.first = append([]*Record{r}, d.first...)
	} else {
		d.retry = append([]*Record{r}, d.retry...)
	}
}

// noteDisk records that a delivery of d is on disk, due at t.
func (d *dest) noteDisk(t time.Time) {
	d.gen++
	if d.wake.IsZero() || t.Before(d.wake) {
		d.wake = t
	}
}

// heldIDs returns a snapshot of the held ids.
func (d *dest) heldIDs() map[string]bool {
	return maps.Clone(d.held)
}

// destKey returns the destination of a forward URL: scheme://host:port,
// lowercased, with the default port made explicit.
func destKey(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("delivery: forward url: %w", err)
	}
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	switch {
	case scheme != "http" && scheme != "https":
		return "", fmt.Errorf("delivery: forward url %q: scheme must be http or https", raw)
	case u.Hostname() == "":
		return "", fmt.Errorf("delivery: forward url %q: no host", raw)
	case port == "" && scheme == "http":
		port = "80"
	case port == "":
		port = "443"
	}
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return scheme + "://" + host + ":" + port, nil
}

// destCache memoises destKey for the forward URLs seen, which come from
// configuration and repeat; it is cleared when it holds maxDestCache.
type destCache struct {
	mu sync.RWMutex
	m  map[string]string
}

const maxDestCache = 4096

var destKeys = destCache{m: map[string]string{}}

func (c *destCache) get(u string) (string, error) {
	c.mu.RLock()
	k, ok := c.m[u]
	c.mu.RUnlock()
	if ok {
		return k, nil
	}
	k, err := destKey(u)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	if len(c.m) >= maxDestCache {
		clear(c.m)
	}
	c.m[u] = k
	c.mu.Unlock()
	return k, nil
}
