// Package matchers holds the provider-independent authenticity and routing
// mechanisms that the packages under plugins/ are built from: an HMAC
// matcher over a signed-content template (HMAC), a shared-token matcher
// (Token), and compiled JSON path lookups (Path). A Preset is a provider
// declared as data over these: its signature header shape (one header,
// numbered headers, a primary and a secondary header) and its route (a JSON
// path, a path through every element of an array, or a header).
//
// Everything is compiled once, when an integration's configuration is
// provisioned; the compiled values are immutable, safe for concurrent use,
// and their per-request methods do not allocate in the common case.
// Matchers answer (ok bool, err error): a missing, malformed or wrong
// credential is (false, nil); err is reserved for something broken.
package matchers
