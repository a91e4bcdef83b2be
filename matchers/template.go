package matchers

import (
	"fmt"
	"strings"
)

// Part kinds of a signed-content template.
const (
	partLiteral = iota
	partBody
	partTimestamp
	partID
	partMethod
	partURL
)

var placeholders = map[string]int{
	"body":      partBody,
	"timestamp": partTimestamp,
	"id":        partID,
	"method":    partMethod,
	"url":       partURL,
}

// part is one piece of a template: a literal or a request value.
type part struct {
	kind int
	lit  []byte
}

// Template is a parsed signed-content template such as "{timestamp}.{body}".
type Template struct {
	parts []part
	uses  [partURL + 1]bool
}

// ParseTemplate parses s, a template over {body}, {timestamp}, {id},
// {method} and {url}; other text is literal. An empty s means "{body}".
// An unknown placeholder or an unmatched brace is an error.
func ParseTemplate(s string) (Template, error) {
	if s == "" {
		s = "{body}"
	}
	var t Template
	rest := s
	for rest != "" {
		open := strings.IndexAny(rest, "{}")
		if open < 0 {
			t.add(part{kind: partLiteral, lit: []byte(rest)})
			break
		}
		if rest[open] == '}' {
			return Template{}, fmt.Errorf("matchers: template %q: unmatched '}'", s)
		}
		if open > 0 {
			t.add(part{kind: partLiteral, lit: []byte(rest[:open])})
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return Template{}, fmt.Errorf("matchers: template %q: unmatched '{'", s)
		}
		name := rest[open+1 : open+end]
		kind, ok := placeholders[name]
		if !ok {
			return Template{}, fmt.Errorf("matchers: template %q: unknown placeholder {%s}", s, name)
		}
		t.add(part{kind: kind})
		rest = rest[open+end+1:]
	}
	return t, nil
}

func (t *Template) add(p part) {
	t.parts = append(t.parts, p)
	t.uses[p.kind] = true
}

// Uses reports whether the template contains the placeholder name
// ("timestamp", "url", …).
func (t Template) Uses(name string) bool {
	k, ok := placeholders[name]
	return ok && t.uses[k]
}
