package config

// CacheStats are a Cache's counters since it was created (SPEC §10:
// edgehook_config_cache_hits_total, _misses_total,
// edgehook_config_watch_resyncs_total).
type CacheStats struct {
	Hits    int64 // lookups answered from the cache
	Misses  int64 // lookups that read etcd (the cache was not in force, or held no entry)
	Resyncs int64 // resynchronisations after the watch broke or was compacted
}

// Stats returns the cache's counters.
func (c *Cache) Stats() CacheStats {
	return CacheStats{
		Hits:    c.hits.Load(),
		Misses:  c.misses.Load(),
		Resyncs: max(0, c.resyncs.Load()-1), // the first sync at Start is not one
	}
}
