package spool

import (
	"bytes"

	"github.com/cockroachdb/pebble/v2"
)

// recordOverhead approximates a delivery's stored bytes beyond its
// strings, for the budget check before a write.
const recordOverhead = 256

// Append implements Spool. The batch is committed with pebble.Sync;
// Pebble's commit pipeline makes concurrent synced batches share one WAL
// fsync (group commit). A body larger than Options.InlineBody is written
// to a blob file of its own, synced, before the batch that refers to it.
func (p *pebbleSpool) Append(b *Batch) (res AppendResult, err error) {
	err = p.use(func() error {
		if err := p.admit(b); err != nil {
			return err
		}
		var dk []byte
		if b.Dedupe != nil {
			dk = dedupeSuffix(b.Dedupe)
			defer p.keyLocks.lock(string(dk))()
			first, ok, err := p.liveDedupe(dk, b.Dedupe.Now)
			if err != nil || ok {
				res = AppendResult{Duplicate: ok, FirstID: first}
				return err
			}
		}
		if len(b.Deliveries) == 0 && b.Dedupe == nil {
			return nil
		}
		w := p.db.NewBatch()
		defer w.Close()
		entries, blobs, delta, bodies, err := p.prepare(w, b)
		if err != nil {
			return err
		}
		var dedupeDelta int64
		if b.Dedupe != nil {
			dedupeDelta = putDedupe(w, dk, b.Dedupe)
		}
		qs := p.markWriting(entries)
		if err := p.commit(w, true, delta+dedupeDelta); err != nil {
			p.unmarkWriting(qs, entries)
			for _, path := range blobs {
				p.blobs.remove(path)
			}
			return err
		}
		if b.Dedupe != nil { // still under the key's lock
			p.filter.add(dk, b.Dedupe.Expires.UnixNano())
			p.dedupeBytes.Add(dedupeDelta)
		}
		p.bodyByte.Add(bodies)
		p.pending.Add(int64(len(entries)))
		p.publish(qs, entries)
		return nil
	})
	return res, err
}

// admit refuses b when it would exceed a budget: the pending count, the
// byte budget, or the free space the disk must keep; or while Pebble
// cannot flush its memtable (faults.go).
func (p *pebbleSpool) admit(b *Batch) error {
	if p.f.degraded.Load() {
		return ErrOverloaded
	}
	n := int64(len(b.Deliveries)) * recordOverhead
	for _, body := range b.Bodies {
		n += int64(len(body.Header) + len(body.Payload))
	}
	if b.Dedupe != nil {
		n += recordOverhead
	}
	if p.pending.Load()+int64(len(b.Deliveries)) > p.o.MaxPending ||
		p.bytes.Load()+n > p.o.MaxBytes || !p.disk.room(n, p.o.MinFree) {
		return ErrOverloaded
	}
	return nil
}

// prepare adds b's bodies (those some delivery needs) and deliveries to w,
// writing large bodies to blob files, and returns the entries to publish
// once w is committed, the blob files written, the bytes added and, of
// those, the bodies' bytes.
func (p *pebbleSpool) prepare(w *pebble.Batch, b *Batch) (entries []*entry, blobs []string, delta, bodyDelta int64, err error) {
	refs := make([]int, len(b.Bodies))
	for _, d := range b.Deliveries {
		if d.Part >= 0 && d.Part < len(refs) {
			refs[d.Part]++
		}
	}
	bodies := make([]*Body, len(b.Bodies)) // kept in memory with the entries; nil: read when sent
	sizes := make([]int64, len(b.Bodies))  // bytes stored, 0: not stored
	values := make([][]byte, len(b.Bodies))
	blobbed := make([]bool, len(b.Bodies))
	for part, in := range b.Bodies {
		if refs[part] == 0 {
			continue
		}
		body := &Body{Header: bytes.Clone(in.Header), size: int64(len(in.Payload))}
		blob := len(in.Payload) > p.o.InlineBody
		if blob {
			path, err := p.blobs.write(blobName(b.EventID, part), in.Payload)
			if err != nil {
				for _, path := range blobs {
					p.blobs.remove(path)
				}
				return nil, nil, 0, 0, err
			}
			blobs = append(blobs, path)
			body.fs, body.path = p.o.FS, path
			blobbed[part] = true
		} else if len(in.Payload) <= p.o.MaxCachedBody {
			body.payload = bytes.Clone(in.Payload)
			if body.payload == nil {
				body.payload = []byte{}
			}
		} else {
			body = nil // stored, too large to keep in memory
		}
		values[part] = appendBodyValue(nil, in.Header, in.Payload, blob)
		sizes[part] = int64(len(values[part]))
		if blob {
			sizes[part] += int64(len(in.Payload))
		}
		if refs[part] > 1 { // shared: its own key, counted down by its deliveries
			k := bodyKey(tagBody, b.EventID, part)
			w.Set(k, values[part], nil)
			sizes[part] += int64(len(k))
			delta += sizes[part]
		} else if blob {
			delta += int64(len(in.Payload)) // the file; the value is in the record
		}
		bodies[part] = body
		bodyDelta += sizes[part]
	}
	for _, in := range b.Deliveries {
		if in.Part < 0 || in.Part >= len(sizes) || sizes[in.Part] == 0 {
			for _, path := range blobs {
				p.blobs.remove(path)
			}
			return nil, nil, 0, 0, errBadPart
		}
		d := *in
		d.refs, d.bsize, d.blob, d.moves, d.Status = refs[d.Part], sizes[d.Part], blobbed[d.Part], 0, StatusPending
		if d.refs == 1 {
			d.inline = values[d.Part]
		}
		k := queueKey(&d)
		v := appendDelivery(nil, &d)
		d.rsize = len(v)
		w.Set(k, v, nil)
		rk := refKey(d.ID)
		w.Set(rk, k, nil)
		delta += int64(len(k) + len(v) + len(rk) + len(k))
		entries = append(entries, &entry{suffix: k[len(k)-8-len(d.ID):], d: &d, body: bodies[d.Part]})
	}
	return entries, blobs, delta, bodyDelta, nil
}

// markWriting registers entries as being written in their destinations'
// queues, so that no scan loads them before they are published.
func (p *pebbleSpool) markWriting(entries []*entry) []*dq {
	qs := make([]*dq, len(entries))
	for i, e := range entries {
		q := p.lockDQ(e.d.Dest, true)
		q.writing[e.d.ID] = struct{}{}
		q.mu.Unlock()
		qs[i] = q
	}
	return qs
}

// unmarkWriting undoes markWriting for entries that were not stored.
func (p *pebbleSpool) unmarkWriting(qs []*dq, entries []*entry) {
	for i, e := range entries {
		q := qs[i]
		q.mu.Lock()
		delete(q.writing, e.d.ID)
		p.unlockDQ(q)
	}
}

// publish makes committed entries pending in memory: each leaves the
// writing set and enters its window if the window covers its key.
func (p *pebbleSpool) publish(qs []*dq, entries []*entry) {
	for i, e := range entries {
		if p.o.Hook != nil {
			p.o.Hook("publish", e.d)
		}
		q := qs[i]
		q.mu.Lock()
		delete(q.writing, e.d.ID)
		q.pending++
		p.insertLocked(q, e)
		q.mu.Unlock()
	}
}
