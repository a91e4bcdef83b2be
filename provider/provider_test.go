package provider

import "testing"

func TestRoutingReset(t *testing.T) {
	var rt Routing
	rt.Scratch = append(rt.Scratch, "derived"...)
	rt.AddPart([]byte("1"), rt.Scratch[:3])
	rt.Reset()
	if len(rt.Keys) != 0 || len(rt.Parts) != 0 || len(rt.Scratch) != 0 || cap(rt.Scratch) == 0 {
		t.Errorf("Reset: keys %d parts %d scratch %d/%d; want empty, scratch array kept", len(rt.Keys), len(rt.Parts), len(rt.Scratch), cap(rt.Scratch))
	}
	rt.Scratch = make([]byte, 0, maxScratch+1)
	if rt.Reset(); rt.Scratch != nil {
		t.Errorf("Reset kept a %d-byte scratch buffer", cap(rt.Scratch))
	}
}

func TestReplyIsZero(t *testing.T) {
	for _, tt := range []struct {
		w    Reply
		zero bool
	}{
		{Reply{}, true},
		{Reply{Status: 200}, false},
		{Reply{ContentType: "text/xml"}, false},
		{Reply{Body: []byte{}}, false},
		{Reply{Header: [][2]string{{"a", "b"}}}, false},
	} {
		if tt.w.IsZero() != tt.zero {
			t.Errorf("%+v: IsZero = %v", tt.w, !tt.zero)
		}
	}
}
