package spool

import (
	"reflect"
	"testing"
	"time"
)

func sampleDelivery() *Delivery {
	now := time.Unix(1764500000, 123456789)
	return &Delivery{
		ID: "d1", EventID: "e1", Kind: KindRunner, Env: "prod", Integration: "github", Provider: "github",
		ConnectionID: "c1", SyncName: "issues", Model: "Issue", URL: "https://app.example/hook",
		Dest: "https://app.example:443", Part: 2, TraceParent: "00-ab-cd-01", Received: now, Created: now,
		Due: now.Add(time.Second), Expires: now.Add(time.Hour), Attempts: 3, Base: 1, Status: StatusDead, Reason: "retry schedule exhausted",
		History: []Attempt{{At: now, Duration: time.Second, Status: 503}, {At: now.Add(time.Minute), Error: "timeout"}},
		refs:    2, bsize: 99, moves: 4,
	}
}

func TestDeliveryRoundTrip(t *testing.T) {
	d := sampleDelivery()
	enc := appendDelivery(nil, d)
	got, err := decodeDelivery(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, d) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, d)
	}
	for i := range enc {
		if _, err := decodeDelivery(enc[:i]); err == nil {
			t.Fatalf("truncated record (%d of %d bytes) decoded", i, len(enc))
		}
	}
}

func TestHistoryKeepsTheLast(t *testing.T) {
	d := &Delivery{}
	for i := range MaxHistory + 5 {
		d.record(Attempt{Status: 500 + i})
	}
	if d.Attempts != MaxHistory+5 || len(d.History) != MaxHistory || d.History[0].Status != 505 {
		t.Fatalf("attempts %d, history %d starting %d", d.Attempts, len(d.History), d.History[0].Status)
	}
}

func FuzzDecodeDelivery(f *testing.F) {
	f.Add(appendDelivery(nil, sampleDelivery()))
	f.Add(appendDelivery(nil, &Delivery{ID: "x"}))
	f.Add([]byte{recordVersion, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := decodeDelivery(b)
		if err != nil {
			return
		}
		if d == nil || len(d.History) > MaxHistory {
			t.Fatalf("decoded %+v", d)
		}
		if again, err := decodeDelivery(appendDelivery(nil, d)); err != nil || !reflect.DeepEqual(again, d) {
			t.Fatalf("re-encoding %+v: %+v, %v", d, again, err)
		}
	})
}
