// Package matchers holds the provider-independent authenticity and routing
// mechanisms that the packages under plugins/ are built from: an HMAC (or
// plain secret-prefixed digest) matcher over a signed-content template
// (HMAC), a shared-token matcher (Token), compiled JSON path lookups
// (Path) and a first-member-in-document-order scan (FirstString), form
// bodies as JSON objects (AppendFormObject), and the dedupe key of a batch
// of provider ids (AppendBatchKey).
//
// Everything is compiled once, when an integration's configuration is
// provisioned; the compiled values are immutable, safe for concurrent use,
// and their per-request methods do not allocate in the common case.
// Matchers answer (ok bool, err error): a missing, malformed or wrong
// credential is (false, nil); err is reserved for something broken.
package matchers
