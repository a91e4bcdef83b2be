package hubspot

import (
	"encoding/json"
	"sync"

	"github.com/buger/jsonparser"

	"github.com/edgehook/edgehook/matchers"
	"github.com/edgehook/edgehook/provider"
)

var (
	portalID       = matchers.MustCompilePath("portalId")
	eventID        = matchers.MustCompilePath("eventId")
	subscriptionID = matchers.MustCompilePath("subscriptionId")
	occurredAt     = matchers.MustCompilePath("occurredAt")
	eventType      = matchers.MustCompilePath("subscriptionType")
)

// batch is Split's scratch space, pooled so that splitting allocates
// nothing once warm.
type batch struct {
	events  []event
	portals [][]byte // distinct portal ids, in the order they first appear
	keys    []byte   // the events' dedupe keys, concatenated
	ends    []int    // where each event's key ends in keys
	ids     [][]byte // the keys, for AppendBatchKey
	noID    bool     // an event has no eventId: the batch has no dedupe key
	bad     bool
}

// event is one element of the batch: its bytes and its portal's index.
type event struct {
	raw    []byte
	portal int
}

var batchPool = sync.Pool{New: func() any { return new(batch) }}

func (b *batch) release() {
	clear(b.events)
	clear(b.portals)
	clear(b.ids)
	*b = batch{events: b.events[:0], portals: b.portals[:0], keys: b.keys[:0], ends: b.ends[:0], ids: b.ids[:0]}
	batchPool.Put(b)
}

// add records one element of the array.
func (b *batch) add(ev []byte, t jsonparser.ValueType, err error) {
	if b.bad {
		return
	}
	portal, ok := portalID.Text(ev, nil)
	if err != nil || t != jsonparser.Object || !ok || len(portal) == 0 {
		b.bad = true
		return
	}
	i := 0
	for i < len(b.portals) && string(b.portals[i]) != string(portal) {
		i++
	}
	if i == len(b.portals) {
		b.portals = append(b.portals, portal)
	}
	b.events = append(b.events, event{raw: ev, portal: i})
	id, ok := eventID.Text(ev, nil)
	if !ok || len(id) == 0 {
		b.noID = true
		return
	}
	sub, _ := subscriptionID.Text(ev, nil)
	at, _ := occurredAt.Text(ev, nil)
	b.keys = append(append(append(append(append(b.keys, sub...), ':'), id...), ':'), at...)
	b.ends = append(b.ends, len(b.keys))
}

// Split routes a HubSpot batch, a JSON array of event objects each with a
// portalId, into rt: one key per distinct portalId, in the order they first
// appear. With several portals, each key comes with its part: the JSON
// array of that portal's events, their bytes copied as received, in their
// order, written into rt.Scratch. With one, the body is forwarded whole.
//
// The event type is the first event's subscriptionType. The dedupe key is
// that of the set of events (matchers.AppendBatchKey over each event's
// "subscriptionId:eventId:occurredAt"), so a redelivery of the same events
// in any order is a duplicate; a batch with an event without eventId has
// none. An empty array routes nothing. Anything else (not JSON, not an
// array, an element that is not an object or has no portalId) is an error.
func Split(body []byte, rt *provider.Routing) error {
	if !json.Valid(body) {
		return errBatch
	}
	b := batchPool.Get().(*batch)
	defer b.release()
	if _, err := jsonparser.ArrayEach(body, func(ev []byte, t jsonparser.ValueType, _ int, err error) {
		b.add(ev, t, err)
	}); err != nil || b.bad {
		return errBatch
	}
	rt.Field = Field
	if len(b.events) == 0 {
		return nil
	}
	if len(b.portals) == 1 {
		rt.AddKey(b.portals[0])
	} else {
		for p, key := range b.portals {
			start := len(rt.Scratch)
			rt.Scratch = append(rt.Scratch, '[')
			for _, ev := range b.events {
				if ev.portal != p {
					continue
				}
				if len(rt.Scratch) > start+1 {
					rt.Scratch = append(rt.Scratch, ',')
				}
				rt.Scratch = append(rt.Scratch, ev.raw...)
			}
			rt.Scratch = append(rt.Scratch, ']')
			rt.AddPart(key, rt.Scratch[start:len(rt.Scratch):len(rt.Scratch)])
		}
	}
	if t, ok := eventType.Text(b.events[0].raw, nil); ok && len(t) > 0 {
		rt.EventType = t
	}
	if !b.noID {
		start := 0
		for _, end := range b.ends {
			b.ids = append(b.ids, b.keys[start:end])
			start = end
		}
		n := len(rt.Scratch)
		rt.Scratch = matchers.AppendBatchKey(rt.Scratch, b.ids)
		rt.EventID = rt.Scratch[n:len(rt.Scratch):len(rt.Scratch)]
	}
	return nil
}
