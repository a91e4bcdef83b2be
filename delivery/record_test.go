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
		Body: []byte(`{"payload":true}`),
	}
}

func TestRecordRoundTrip(t *testing.T) {
	r := sampleRecord()
	got, body, err := decodeRecord(appendRecord(nil, r))
	if err != nil {
		t.Fatal(err)
	}
	got.Body = body
	if !reflect.DeepEqual(got, r) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, r)
	}
	enc := appendRecord(nil, r)
	for i := range enc {
		if _, _, err := decodeRecord(enc[:i]); err == nil {
			t.Fatalf("truncated record (%d of %d bytes) decoded", i, len(enc))
		}
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(appendRecord(nil, sampleRecord()))
	f.Add([]byte{recordVersion, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, _, err := decodeRecord(b)
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

func TestDeliveryIDs(t *testing.T) {
	ev := &Event{Env: "prod", Integration: "github", DedupeKey: "d-1", DedupeTTL: time.Hour}
	f := &Forward{ConnectionID: "c1", URL: "https://app.example/h"}
	t0 := time.Date(2026, 11, 30, 10, 10, 0, 0, time.UTC)
	id := newDeliveryID(ev, f, t0)
	if again := newDeliveryID(ev, f, t0.Add(20*time.Minute)); again != id {
		t.Error("a duplicate within the same window got another id")
	}
	// Seen again after its window expired, the key is in a later window.
	if later := newDeliveryID(ev, f, t0.Add(time.Hour)); later == id {
		t.Error("a key seen again after its window got the first event's id")
	}
	other := *f
	other.ConnectionID = "c2"
	if newDeliveryID(ev, &other, t0) == id {
		t.Error("two connections share a delivery id")
	}
	for _, e := range []*Event{{DedupeTTL: time.Hour}, {DedupeKey: "d-1"}} {
		first, second := newDeliveryID(e, f, t0), newDeliveryID(e, f, t0)
		if first == second {
			t.Error("an event without dedupe got a derived id, not a random one")
		}
	}
}
