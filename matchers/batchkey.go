package matchers

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"slices"
)

// batchKeyPrefix starts the key of a batch of several ids.
const batchKeyPrefix = "sha256:"

// AppendBatchKey appends to dst the dedupe key of a delivery that carries
// several provider ids (a HubSpot batch of events, a Salesforce message of
// notifications) and returns the extended slice. With one id the key is
// that id; with several it is "sha256:" and the hex SHA-256 of the ids
// sorted, each followed by a newline, so a redelivery of the same set of
// ids in another order has the same key, and a different set another one.
// ids is sorted in place; with no ids dst is returned unchanged. It uses
// dst's spare capacity as scratch and does not allocate when that is
// large enough.
func AppendBatchKey(dst []byte, ids [][]byte) []byte {
	switch len(ids) {
	case 0:
		return dst
	case 1:
		return append(dst, ids[0]...)
	}
	slices.SortFunc(ids, bytes.Compare)
	start := len(dst)
	for _, id := range ids {
		dst = append(dst, id...)
		dst = append(dst, '\n')
	}
	sum := sha256.Sum256(dst[start:])
	dst = append(dst[:start], batchKeyPrefix...)
	return hex.AppendEncode(dst, sum[:])
}
