package matchers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/buger/jsonparser"

	"github.com/edgehook/edgehook/provider"
)

// MaxRouteKeys bounds the distinct routing keys one delivery reports from a
// "*" route; further elements are ignored.
const MaxRouteKeys = 256

// presetRoute is a compiled Preset route: a request header, a dotted JSON
// path, or a path through every element of one array ("events.*.tenantId").
// The zero presetRoute routes nothing.
type presetRoute struct {
	header string
	path   Path // the value, or the array when each
	elem   Path // inside each element; zero means the element itself
	each   bool
	top    bool // the array is the body itself ("*.portalId")
}

// compileRoute compiles a Preset's RouteHeader or Route (at most one).
func compileRoute(header, path string) (presetRoute, error) {
	switch {
	case header != "" && path != "":
		return presetRoute{}, errors.New("matchers: preset: route and route header are exclusive")
	case header != "":
		return presetRoute{header: header}, nil
	case path == "":
		return presetRoute{}, nil
	}
	segs := strings.Split(path, ".")
	star := -1
	for i, s := range segs {
		if s != "*" {
			continue
		}
		if star >= 0 {
			return presetRoute{}, fmt.Errorf("matchers: route %q: at most one * segment", path)
		}
		star = i
	}
	if star < 0 {
		p, err := CompilePath(path)
		return presetRoute{path: p}, err
	}
	rt := presetRoute{each: true, top: star == 0}
	var err error
	if !rt.top {
		if rt.path, err = CompilePath(strings.Join(segs[:star], ".")); err != nil {
			return presetRoute{}, err
		}
	}
	if star < len(segs)-1 {
		if rt.elem, err = CompilePath(strings.Join(segs[star+1:], ".")); err != nil {
			return presetRoute{}, err
		}
	}
	return rt, nil
}

// add appends to rt the routing keys of the request whose forwarded JSON is
// payload: the header's value, the path's value, or the distinct values of
// the elements of the "*" array (elements without one are skipped). A
// payload that is not JSON is ErrNotJSON. Keys borrow from the request.
func (p *presetRoute) add(r *provider.Request, payload []byte, rt *provider.Routing) error {
	if !json.Valid(payload) {
		return ErrNotJSON
	}
	switch {
	case p.header != "":
		if v := r.Header(p.header); len(v) > 0 {
			rt.AddKey(v)
		}
	case p.each:
		var keys []string
		if !p.top {
			keys = p.path.keys
		}
		jsonparser.ArrayEach(payload, func(v []byte, t jsonparser.ValueType, _ int, _ error) {
			if len(rt.Keys) >= MaxRouteKeys {
				return
			}
			k, ok := elemText(v, t, p.elem)
			if ok && len(k) > 0 && !hasKey(rt.Keys, k) {
				rt.AddKey(k)
			}
		}, keys...)
	default:
		if v, ok := p.path.Text(payload, nil); ok && len(v) > 0 {
			rt.AddKey(v)
		}
	}
	return nil
}

// elemText is the text of elem inside the array element v of type t, or of
// v itself when elem is zero (see Path.Text).
func elemText(v []byte, t jsonparser.ValueType, elem Path) ([]byte, bool) {
	if !elem.IsZero() {
		if t != jsonparser.Object && t != jsonparser.Array {
			return nil, false
		}
		return elem.Text(v, nil)
	}
	switch t {
	case jsonparser.Number, jsonparser.Boolean:
		return v, true
	case jsonparser.String:
		if bytes.IndexByte(v, '\\') < 0 {
			return v, true
		}
		u, err := jsonparser.Unescape(v, nil)
		return u, err == nil
	}
	return nil, false
}

func hasKey(keys [][]byte, k []byte) bool {
	for _, o := range keys {
		if bytes.Equal(o, k) {
			return true
		}
	}
	return false
}
