package config

import "sync"

// entry is one cached value. Exactly one of env, integ, conn, ids is set, or
// err for a negative or unusable entry; an empty lookup has neither.
type entry struct {
	env   *Env
	integ *Integ
	conn  *Conn
	ids   []string
	err   error
	cost  int64
}

// entryBase approximates the memory of an entry, its key and ristretto's
// bookkeeping.
const entryBase = 160

// Shared negative entries.
var (
	negEnv      = &entry{err: errEnvNotFound, cost: entryBase}
	negInteg    = &entry{err: errIntegNotFound, cost: entryBase}
	negConn     = &entry{err: errConnNotFound, cost: entryBase}
	badEnv      = &entry{err: errEnvUnusable, cost: entryBase}
	badInteg    = &entry{err: errIntegUnusable, cost: entryBase}
	badConn     = &entry{err: errConnUnusable, cost: entryBase}
	emptyLookup = &entry{cost: entryBase}
)

func envEntry(e *Env) *entry {
	cost := entryBase + len(e.Name) + len(e.Secret)
	for _, u := range e.URLs {
		cost += len(u) + 16
	}
	return &entry{env: e, cost: int64(cost)}
}

func integEntry(i *Integ) *entry {
	// The provider instance is opaque; 1 KiB covers precomputed keys.
	return &entry{integ: i, cost: int64(entryBase + 1024 + len(i.Env) + len(i.Name))}
}

func connEntry(c *Conn) *entry {
	return &entry{conn: c, cost: int64(entryBase + len(c.ID) + len(c.URLOverride))}
}

func lookupEntry(ids []string) *entry {
	if len(ids) == 0 {
		return emptyLookup
	}
	cost := entryBase + 24*len(ids)
	for _, id := range ids {
		cost += len(id)
	}
	return &entry{ids: ids, cost: int64(cost)}
}

// keyBuf is a pooled buffer the request path builds cache keys in.
type keyBuf struct{ b []byte }

var keyBufs = sync.Pool{New: func() any { return &keyBuf{b: make([]byte, 0, 512)} }}

func getKeyBuf() *keyBuf { return keyBufs.Get().(*keyBuf) }

func putKeyBuf(kb *keyBuf) {
	if cap(kb.b) <= 4096 {
		keyBufs.Put(kb)
	}
}
