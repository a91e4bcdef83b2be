package sender

import (
	"strings"
	"testing"
)

func BenchmarkSign(b *testing.B) {
	pre := []byte(`{"from":"github","type":"forward","connectionId":"c1","providerConfigKey":"github","payload":`)
	payload := []byte(strings.Repeat("x", 1024))
	b.ReportAllocs()
	b.SetBytes(int64(len(pre) + len(payload) + 1))
	for b.Loop() {
		if _, err := Sign("app-secret", "01jfq3x1c0e8r3ka1m2n3p4q5r", 1764500000, pre, payload, closing, nil); err != nil {
			b.Fatal(err)
		}
	}
}
