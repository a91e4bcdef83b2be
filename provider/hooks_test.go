package provider

import "testing"

func TestHooksHas(t *testing.T) {
	h := Hooks{PreDeletion: true}
	for name, want := range map[string]bool{PostConnectionCreation: false, PreConnectionDeletion: true, "other": false} {
		if got := h.Has(name); got != want {
			t.Errorf("Has(%q) = %v, want %v", name, got, want)
		}
	}
}
