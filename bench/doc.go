// Package bench holds edgehook's throughput benchmarks (`go test -bench`)
// and, under cmd/load, the load generator. The benchmarks run the real
// components in-process: embedded etcd, the config cache, the plugins and
// the fsync'd Pebble spool.
package bench
