package matchers

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

func ids(s ...string) [][]byte {
	out := make([][]byte, len(s))
	for i, x := range s {
		out[i] = []byte(x)
	}
	return out
}

func TestAppendBatchKey(t *testing.T) {
	sum := sha256.Sum256([]byte("1\n2\n3\n"))
	want123 := "sha256:" + hex.EncodeToString(sum[:])
	tests := []struct {
		name string
		ids  [][]byte
		want string
	}{
		{"none", nil, "pre:"},
		{"one", ids("evt_1"), "pre:evt_1"},
		{"sorted", ids("1", "2", "3"), "pre:" + want123},
		{"any order", ids("3", "1", "2"), "pre:" + want123},
	}
	for _, tt := range tests {
		if got := string(AppendBatchKey([]byte("pre:"), tt.ids)); got != tt.want {
			t.Errorf("%s: %q; want %q", tt.name, got, tt.want)
		}
	}
	// Sets that differ only in how the ids split must differ.
	a := string(AppendBatchKey(nil, ids("1", "23")))
	b := string(AppendBatchKey(nil, ids("12", "3")))
	if a == b {
		t.Errorf("{1,23} and {12,3} share the key %s", a)
	}
	dst := make([]byte, 0, 256)
	in := ids("b", "a", "c")
	if n := testing.AllocsPerRun(100, func() { dst = AppendBatchKey(dst[:0], in) }); n != 0 {
		t.Errorf("AppendBatchKey allocates %v times", n)
	}
}
