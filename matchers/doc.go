// Package matchers holds the provider-independent authenticity and routing
// mechanisms that the packages under plugins/ are built from: an HMAC (or
// plain secret-prefixed digest) matcher over a signed-content template
// (HMAC), a shared-token matcher (Token, Secrets), public-key signatures
// over the same templates (Ed25519, ECDSA), OIDC ID tokens checked against a
// background-refreshed JWKS (OIDC, JWKS), an HMAC over the URL and sorted
// form parameters (URLParams), an HMAC whose signature and signed values
// are body fields (BodyHMAC), compiled JSON path lookups (Path) and a
// first-member-in-document-order scan (FirstString), batch splitting per
// connection (SplitArray), form bodies as JSON objects (AppendFormObject),
// the dedupe key of a batch of provider ids (AppendBatchKey), and the
// Preset and TokenPreset providers made of them. A Preset is a provider
// declared as data: its signature header shape (one header, numbered
// headers, a primary and a secondary header) and its route (a JSON path, a
// path through every element of an array, or a header).
//
// Everything is compiled once, when an integration's configuration is
// provisioned; the compiled values are immutable, safe for concurrent use,
// and their per-request methods do not allocate in the common case (ECDSA
// and RSA verification inside the standard library do).
// Matchers answer (ok bool, err error): a missing, malformed or wrong
// credential is (false, nil); err is reserved for something broken.
package matchers
