package delivery

import (
	"testing"
	"time"
)

func TestNextDelay(t *testing.T) {
	s := &Service{opts: Options{Schedule: []time.Duration{time.Second, time.Minute}, Jitter: 0}}
	cases := []struct {
		attempts, base int
		retryAfter     time.Duration
		want           time.Duration
		ok             bool
	}{
		{1, 0, 0, time.Second, true},
		{2, 0, 0, time.Minute, true},
		{3, 0, 0, 0, false},          // schedule exhausted: dead
		{4, 3, 0, time.Second, true}, // restarted by an admin retry
		{1, 0, 2 * time.Second, 2 * time.Second, true},
		{1, 0, time.Millisecond, time.Second, true}, // Retry-After bounded below
		{1, 0, 100 * time.Hour, 10 * time.Hour, true},
		{3, 0, 5 * time.Second, 0, false}, // Retry-After does not extend the schedule
	}
	for _, c := range cases {
		got, ok := s.nextDelay(c.attempts, c.base, c.retryAfter)
		if got != c.want || ok != c.ok {
			t.Errorf("nextDelay(%d, %d, %v) = %v, %v; want %v, %v", c.attempts, c.base, c.retryAfter, got, ok, c.want, c.ok)
		}
	}
}

func TestJitter(t *testing.T) {
	for range 1000 {
		d := jitter(time.Minute, 0.2)
		if d < 48*time.Second || d > 72*time.Second {
			t.Fatalf("jitter(1m, 0.2) = %v", d)
		}
	}
	if jitter(time.Minute, 0) != time.Minute {
		t.Fatal("zero jitter changed the delay")
	}
}
