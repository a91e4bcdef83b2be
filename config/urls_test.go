package config

import (
	"errors"
	"reflect"
	"testing"
)

func TestCacheAppURLs(t *testing.T) {
	f := newFixture(t)
	f.seed()
	f.putConn("plain", `{"config":{"installation_id":1}}`)
	f.putConn("own", `{"config":{"installation_id":2},"webhook_url_override":"https://own.example/hooks"}`)
	c := f.newCache(CacheOptions{})
	for conn, want := range map[string][]string{
		"plain":   {"https://app.example/hooks"},
		"own":     {"https://own.example/hooks"},
		"unknown": {"https://app.example/hooks"}, // not configured: the environment's
		"bad/id":  {"https://app.example/hooks"},
	} {
		got, err := c.AppURLs(ctxT(t), "prod", "gh", conn)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("AppURLs(%s) = %q, %v; want %q", conn, got, err, want)
		}
	}
	if _, err := c.AppURLs(ctxT(t), "nope", "gh", "plain"); !errors.Is(err, ErrNotFound) {
		t.Errorf("AppURLs of an unknown environment: %v, want ErrNotFound", err)
	}
}
