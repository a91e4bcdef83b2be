package spool

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// Body is a stored body: the provider headers passed through and the
// payload. A small payload is held in memory (Bytes); a large one lives in
// a blob file and is streamed from it (Open), so that sending it to many
// destinations keeps one copy on disk and none in memory.
type Body struct {
	Header  []byte
	payload []byte // nil for a blob
	fs      vfs.FS
	path    string // the blob file, "" when in memory
	size    int64
	open    func() (io.ReadCloser, error) // a body stored in pieces elsewhere (JetStream)
}

// Len returns the payload's length.
func (b *Body) Len() int64 { return b.size }

// Bytes returns the payload when it is held in memory, else nil (see
// Open). The slice must not be modified.
func (b *Body) Bytes() []byte { return b.payload }

// Open returns a reader over the payload; the caller closes it.
func (b *Body) Open() (io.ReadCloser, error) {
	if b.open != nil {
		return b.open()
	}
	if b.path == "" {
		return io.NopCloser(bytes.NewReader(b.payload)), nil
	}
	f, err := b.fs.Open(b.path)
	if err != nil {
		return nil, fmt.Errorf("spool: opening body: %w", err)
	}
	return f, nil
}

// Body values: a version byte, the kind (inline or blob), the headers,
// then the payload (inline) or its length (blob).
const (
	bodyVersion = 1
	bodyInline  = 0
	bodyBlob    = 1
)

func appendBodyValue(dst []byte, header, payload []byte, blob bool) []byte {
	if !blob {
		dst = append(dst, bodyVersion, bodyInline)
		dst = appendBytes(dst, header)
		return appendBytes(dst, payload)
	}
	dst = append(dst, bodyVersion, bodyBlob)
	dst = appendBytes(dst, header)
	return binary.AppendUvarint(dst, uint64(len(payload)))
}

// decodeBody decodes a body value; an inline payload is copied. path is
// the blob file a blob body refers to.
func decodeBody(v []byte, fs vfs.FS, path string) (*Body, error) {
	if len(v) < 2 || v[0] != bodyVersion {
		return nil, errCorrupt
	}
	r := reader{b: v[2:]}
	b := &Body{Header: bytes.Clone(r.field())}
	switch v[1] {
	case bodyInline:
		b.payload = bytes.Clone(r.field())
		if b.payload == nil {
			b.payload = []byte{}
		}
		b.size = int64(len(b.payload))
	case bodyBlob:
		b.size = int64(r.uvarint())
		b.fs, b.path = fs, path
	default:
		return nil, errCorrupt
	}
	if r.bad || len(r.b) != 0 {
		return nil, errCorrupt
	}
	return b, nil
}
