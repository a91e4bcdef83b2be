package matchers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/buger/jsonparser"
)

// ErrNotJSON is returned by Path.Key when the body is not valid JSON.
var ErrNotJSON = errors.New("matchers: body is not valid JSON")

// maxPathSegments bounds a compiled path.
const maxPathSegments = 32

// Path is a compiled dotted path into a JSON document ("installation.id",
// "data.items.0.id"): each segment is an object key, except that an
// all-digit segment indexes an array. The zero Path matches nothing.
type Path struct {
	keys []string // jsonparser components: "id", "[0]"
	text string
}

// CompilePath parses a dotted path. Empty segments and brackets are an
// error; a key made only of digits, or containing a dot, cannot be
// addressed (an all-digit segment is read as an array index).
func CompilePath(s string) (Path, error) {
	if s == "" {
		return Path{}, errors.New("matchers: empty json path")
	}
	segs := strings.Split(s, ".")
	if len(segs) > maxPathSegments {
		return Path{}, fmt.Errorf("matchers: json path %q has more than %d segments", s, maxPathSegments)
	}
	p := Path{keys: make([]string, len(segs)), text: s}
	for i, seg := range segs {
		switch {
		case seg == "":
			return Path{}, fmt.Errorf("matchers: json path %q has an empty segment", s)
		case strings.ContainsAny(seg, "[]"):
			return Path{}, fmt.Errorf("matchers: json path %q: brackets are not supported, index arrays with a numeric segment", s)
		case isDigits(seg):
			p.keys[i] = "[" + seg + "]"
		default:
			p.keys[i] = seg
		}
	}
	return p, nil
}

// MustCompilePath is CompilePath for paths known to be valid; it panics on
// an error. For package-level variables.
func MustCompilePath(s string) Path {
	p, err := CompilePath(s)
	if err != nil {
		panic(err)
	}
	return p
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// String returns the path as written.
func (p Path) String() string { return p.text }

// IsZero reports whether p is the zero Path.
func (p Path) IsZero() bool { return len(p.keys) == 0 }

// Text returns the value at p in body as text: a string's content
// (unescaped), or a number or boolean literal as written. ok is false when
// the path is absent, its value is null, an object or an array, or body is
// malformed on the way to it. The result borrows from body when the value
// needs no unescaping; otherwise it is written into dst's backing array
// (from dst[:0], grown if too small). It is valid as long as both are.
// Text does not allocate unless a string with escapes does not fit in dst.
func (p Path) Text(body, dst []byte) ([]byte, bool) {
	if len(p.keys) == 0 {
		return nil, false
	}
	v, t, _, err := jsonparser.Get(body, p.keys...)
	if err != nil {
		return nil, false
	}
	switch t {
	case jsonparser.Number, jsonparser.Boolean:
		return v, true
	case jsonparser.String:
		if bytes.IndexByte(v, '\\') < 0 {
			return v, true
		}
		u, err := jsonparser.Unescape(v, dst[:0:cap(dst)])
		if err != nil {
			return nil, false
		}
		return u, true
	}
	return nil, false
}

// Key is Text for routing: it first checks that body is valid JSON
// (ErrNotJSON otherwise), then returns the value at p, or nil when the path
// is absent, null, not a scalar, or an empty string. The result is borrowed
// as with Text.
func (p Path) Key(body, dst []byte) ([]byte, error) {
	if !json.Valid(body) {
		return nil, ErrNotJSON
	}
	v, ok := p.Text(body, dst)
	if !ok || len(v) == 0 {
		return nil, nil
	}
	return v, nil
}
