package provider

import "fmt"

// Registry finds a built-in provider by id. It is built once from the
// explicit list in plugins.All (or a test's own list) and never changes.
type Registry struct {
	byID map[string]Provider
}

// NewRegistry indexes ps by ID, refusing an empty or duplicated id.
func NewRegistry(ps []Provider) (*Registry, error) {
	r := &Registry{byID: make(map[string]Provider, len(ps))}
	for _, p := range ps {
		id := p.ID()
		if id == "" {
			return nil, fmt.Errorf("provider: %T has an empty id", p)
		}
		if _, dup := r.byID[id]; dup {
			return nil, fmt.Errorf("provider: duplicate id %q", id)
		}
		r.byID[id] = p
	}
	return r, nil
}

// Get returns the provider with the given id.
func (r *Registry) Get(id string) (Provider, bool) {
	p, ok := r.byID[id]
	return p, ok
}

// Provision provisions cfg with the provider named id.
func (r *Registry) Provision(id string, cfg Config) (Instance, error) {
	p, ok := r.byID[id]
	if !ok {
		return nil, fmt.Errorf("provider %q: %w", id, ErrUnknownProvider)
	}
	return p.Provision(cfg)
}

// SecretConfigFields returns the connection config fields provider id marks
// as credentials, or nil.
func (r *Registry) SecretConfigFields(id string) []string {
	if d, ok := r.byID[id].(Describer); ok {
		return d.SecretConfigFields()
	}
	return nil
}
