package config

import (
	"errors"
	"slices"
	"strconv"
	"testing"
)

func names[T any](l []Named[T]) []string {
	out := make([]string, len(l))
	for i, n := range l {
		out[i] = n.Name
	}
	return out
}

// Environments list in name order past each other's subtrees: "a" has
// integrations, connections and routing entries under its key, and
// "a-b" and "a.c" sort between "a" and "a/…".
func TestListEnvironments(t *testing.T) {
	f := newFixture(t)
	ctx := ctxT(t)
	for _, e := range []string{"b", "a.c", "a", "a-b", "a0"} {
		if _, err := f.store.PutEnvironment(ctx, e, []byte(`{"webhook_secret":"s-`+e+`"}`)); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range []string{"a", "a-b"} {
		if _, err := f.store.PutIntegration(ctx, e, "gh", []byte(`{"provider":"fake"}`)); err != nil {
			t.Fatal(err)
		}
		for i := range 40 {
			if _, err := f.store.PutConnection(ctx, e, "gh", "c"+strconv.Itoa(i), []byte(`{"config":{"installation_id":`+strconv.Itoa(i)+`}}`)); err != nil {
				t.Fatal(err)
			}
		}
	}
	all, err := f.store.ListEnvironments(ctx, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(all), []string{"a", "a-b", "a.c", "a0", "b"}; !slices.Equal(got, want) {
		t.Fatalf("environments %v, want %v", got, want)
	}
	for _, n := range all {
		if n.Value == nil || n.Value.WebhookSecret != "s-"+n.Name {
			t.Fatalf("environment %s: %+v", n.Name, n.Value)
		}
	}
	var paged []string
	for after := ""; ; {
		p, err := f.store.ListEnvironments(ctx, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		paged = append(paged, names(p)...)
		if len(p) < 2 {
			break
		}
		after = p[len(p)-1].Name
	}
	if !slices.Equal(paged, names(all)) {
		t.Fatalf("paged %v, want %v", paged, names(all))
	}
}

func TestListIntegrationsAndConnections(t *testing.T) {
	f := newFixture(t)
	f.seed()
	ctx := ctxT(t)
	if _, err := f.store.PutIntegration(ctx, "prod", "gh2", []byte(`{"provider":"fake"}`)); err != nil {
		t.Fatal(err)
	}
	ig, err := f.store.ListIntegrations(ctx, "prod", "", 10)
	if err != nil || !slices.Equal(names(ig), []string{"gh", "gh2"}) || ig[0].Value.Provider != "fake" {
		t.Fatalf("integrations %v, %v", names(ig), err)
	}
	for _, id := range []string{"c3", "c1", "c2"} {
		f.putConn(id, `{"config":{"installation_id":"`+id+`"}}`)
	}
	cs, err := f.store.ListConnections(ctx, "prod", "gh", "c1", 10)
	if err != nil || !slices.Equal(names(cs), []string{"c2", "c3"}) || cs[0].Value.ConnectionID != "c2" ||
		string(cs[0].Value.Config["installation_id"]) != `"c2"` {
		t.Fatalf("connections after c1: %v, %v", names(cs), err)
	}
	if cs, err := f.store.ListConnections(ctx, "prod", "gh", "", 1); err != nil || !slices.Equal(names(cs), []string{"c1"}) {
		t.Fatalf("first connection: %v, %v", names(cs), err)
	}
	if cs, err := f.store.ListConnections(ctx, "prod", "gh2", "", 10); err != nil || len(cs) != 0 {
		t.Fatalf("connections of gh2: %v, %v", names(cs), err)
	}
	for _, err := range []error{
		func() error { _, err := f.store.ListIntegrations(ctx, "nope", "", 10); return err }(),
		func() error { _, err := f.store.ListConnections(ctx, "prod", "nope", "", 10); return err }(),
	} {
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("list under a missing parent: %v, want ErrNotFound", err)
		}
	}
}
