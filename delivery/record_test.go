package delivery

import (
	"reflect"
	"testing"
	"time"
)

func sampleRecord() *Record {
	now := time.Unix(1764500000, 123456789)
	return &Record{
		ID: "d1", EventID: "e1", Env: "prod", Integration: "github", ConnectionID: "c1",
		URL: "https://app.example/hook", Dest: "https://app.example:443", TraceParent: "00-ab-cd-01",
		Header: AppendHeader(nil, []byte("X-A"), []byte("b")), Created: now, Due: now.Add(time.Second),
		Attempts: 3, Base: 1, Status: StatusDead, LastStatus: 503, LastError: "boom", LastAttempt: now,
	}
}

func TestRecordRoundTrip(t *testing.T) {
	r := sampleRecord()
	got, err := decodeRecord(appendRecord(nil, r))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, r) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, r)
	}
	enc := appendRecord(nil, r)
	for i := range enc {
		if _, err := decodeRecord(enc[:i]); err == nil {
			t.Fatalf("truncated record (%d of %d bytes) decoded", i, len(enc))
		}
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(appendRecord(nil, sampleRecord()))
	f.Add([]byte{recordVersion, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(b)
		if err == nil && r == nil {
			t.Fatal("nil record without error")
		}
	})
}

func TestDestKey(t *testing.T) {
	cases := map[string]string{
		"https://App.Example/hooks?x=1": "https://app.example:443",
		"http://app.example/":           "http://app.example:80",
		"http://127.0.0.1:9000/h":       "http://127.0.0.1:9000",
		"https://[::1]:8443/h":          "https://[::1]:8443",
		"HTTPS://app.example:443":       "https://app.example:443",
	}
	for in, want := range cases {
		if got, err := destKey(in); err != nil || got != want {
			t.Errorf("destKey(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"ftp://x/", "https:///nohost", "::", "app.example/h"} {
		if _, err := destKey(bad); err == nil {
			t.Errorf("destKey(%q) accepted", bad)
		}
	}
}
