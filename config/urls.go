package config

import (
	"context"
	"errors"
)

// URLsFor returns the URLs the app's webhooks about connection c go to
// (SPEC §6, §8): c's webhook_url_override when it has one, else the
// environment's webhook_urls. c may be nil, for a connection the
// configuration does not hold. The result must not be modified.
func (e *Env) URLsFor(c *Conn) []string {
	if c != nil && c.URLOverride != "" {
		return []string{c.URLOverride}
	}
	return e.URLs
}

// AppURLs returns the URLs a sync webhook about connection conn of
// integration integ in environment env goes to (Env.URLsFor); a
// connection that is not configured gets the environment's. A missing
// environment is an error wrapping ErrNotFound; etcd failing on a miss is
// another error. The result must not be modified.
func (c *Cache) AppURLs(ctx context.Context, env, integ, conn string) ([]string, error) {
	e, err := c.Environment(ctx, []byte(env))
	if err != nil {
		return nil, err
	}
	cn, err := c.Connection(ctx, []byte(env), []byte(integ), []byte(conn))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	return e.URLsFor(cn), nil
}
