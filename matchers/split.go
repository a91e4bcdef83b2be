package matchers

import (
	"bytes"
	"slices"

	"github.com/buger/jsonparser"

	"github.com/edgehook/edgehook/provider"
)

// SplitArray routes a batch: the JSON array body[start:end] holds items
// (notifications, events) that may belong to different connections. The
// scalar at key in each item is its routing key; each distinct one is
// added to rt.Keys in order of first appearance. When there are two or
// more, each key also gets a part in rt.Parts: body with the array cut down
// to that key's items, in order, everything around the array as received.
// With one key the body is forwarded whole. Items without a key are in no
// part. The parts are built in rt.Scratch; it returns the number of items.
// Keys borrow from body (a key with JSON escapes is unescaped into a new
// slice). It does not allocate once rt's buffers have grown.
func SplitArray(rt *provider.Routing, body []byte, start, end int, key Path) int {
	arr := body[start:end]
	total, count := 0, 0
	jsonparser.ArrayEach(arr, func(item []byte, _ jsonparser.ValueType, _ int, _ error) {
		total += len(item)
		count++
		if k, ok := key.Text(item, nil); ok && len(k) > 0 && !hasKey(rt.Keys, k) {
			rt.AddKey(k)
		}
	})
	if len(rt.Keys) < 2 {
		return count
	}
	// Reserve the room every part needs: one allocation at most.
	rt.Scratch = slices.Grow(rt.Scratch, len(rt.Keys)*(len(body)-len(arr)+2)+total+count)
	for _, k := range rt.Keys {
		from := len(rt.Scratch)
		rt.Scratch = append(rt.Scratch, body[:start]...)
		rt.Scratch = append(rt.Scratch, '[')
		first := true
		jsonparser.ArrayEach(arr, func(item []byte, _ jsonparser.ValueType, _ int, _ error) {
			if ik, ok := key.Text(item, nil); ok && bytes.Equal(ik, k) {
				if !first {
					rt.Scratch = append(rt.Scratch, ',')
				}
				rt.Scratch = append(rt.Scratch, item...)
				first = false
			}
		})
		rt.Scratch = append(rt.Scratch, ']')
		rt.Scratch = append(rt.Scratch, body[end:]...)
		rt.Parts = append(rt.Parts, rt.Scratch[from:len(rt.Scratch):len(rt.Scratch)])
	}
	return count
}
