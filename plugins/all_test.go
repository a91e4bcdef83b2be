package plugins

import (
	"os"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/edgehook/edgehook/provider"
)

// notProviders are the folders under plugins/ that hold no provider.
var notProviders = map[string]bool{"plugintest": true, "testdata": true}

// TestAllListsEveryFolder fails when a provider folder is missing from All,
// an id is duplicated, or a provider's id names no folder.
func TestAllListsEveryFolder(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]provider.Provider{}
	prev := ""
	for _, p := range All() {
		id := p.ID()
		if id < prev {
			t.Errorf("All lists %q after %q; keep it in id order", id, prev)
		}
		prev = id
		if _, dup := byID[id]; dup {
			t.Errorf("id %q is listed twice in All", id)
		}
		byID[id] = p
		if fi, err := os.Stat(id); err != nil || !fi.IsDir() {
			t.Errorf("provider id %q has no folder plugins/%s", id, id)
		}
	}
	for _, e := range entries {
		if !e.IsDir() || notProviders[e.Name()] {
			continue
		}
		if _, ok := byID[e.Name()]; !ok {
			t.Errorf("folder plugins/%s is not in All() (plugins/all.go)", e.Name())
		}
	}
	if _, err := provider.NewRegistry(All()); err != nil {
		t.Errorf("NewRegistry(All()): %v", err)
	}
}

// noVectors are the providers shared/PROVIDERS.md gives no signature
// vector for (no signature, a shared token, or a key only the provider
// holds).
var noVectors = map[string]bool{"streak": true, "msgraph": true, "pubsub": true, "okta": true, "gitlab": true}

// hasVectors finds a Case's Vectors being set ("Vectors: …" or
// "c.Vectors = …"), or a table of deliveries checked with
// plugintest.CheckDeliveries, whose documented vectors must verify.
var hasVectors = regexp.MustCompile(`Vectors\s*(:|=)|plugintest\.CheckDeliveries\(`)

// TestAllRunConformance checks every provider's tests run the conformance
// suite (plugintest.Run), with its published or documented vectors.
func TestAllRunConformance(t *testing.T) {
	for _, p := range All() {
		id := p.ID()
		b, err := os.ReadFile(path.Join(id, id+"_test.go"))
		if err != nil {
			t.Errorf("plugins/%s: %v", id, err)
			continue
		}
		if !strings.Contains(string(b), "plugintest.Run(") {
			t.Errorf("plugins/%s: %s_test.go does not call plugintest.Run", id, id)
		}
		if !noVectors[id] && !hasVectors.Match(b) {
			t.Errorf("plugins/%s: its plugintest.Case lists no Vectors", id)
		}
	}
}

// TestAllFolderFiles checks each provider folder has the files STYLE.md asks
// for.
func TestAllFolderFiles(t *testing.T) {
	for _, p := range All() {
		id := p.ID()
		for _, f := range []string{id + ".go", id + "_test.go", "README.md", "testdata/README.md"} {
			if _, err := os.Stat(path.Join(id, f)); err != nil {
				t.Errorf("plugins/%s: %v", id, err)
			}
		}
	}
}
