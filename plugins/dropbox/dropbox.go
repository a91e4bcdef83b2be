// Package dropbox is the Dropbox provider: notifications carry
// X-Dropbox-Signature, the hex HMAC-SHA256 of the raw body keyed with the
// app secret, and are routed by each account id in list_folder.accounts to
// the connection config field account_id. Notifications say only which
// accounts changed: no event type, no delivery id.
//
// Dropbox verifies the endpoint with a GET ?challenge=…; the gateway echoes
// the challenge itself, as text/plain with X-Content-Type-Options: nosniff.
package dropbox

import (
	"github.com/edgehook/edgehook/matchers"
	"github.com/edgehook/edgehook/provider"
)

// Field is the connection config field account ids are matched with.
const Field = "account_id"

// Preset is Dropbox's signature scheme and routing.
var Preset = matchers.Preset{
	Name:      "dropbox",
	Signature: matchers.HMACConfig{Header: "X-Dropbox-Signature"},
	Route:     "list_folder.accounts.*",
	Field:     Field,
}

var nosniff = [][2]string{{"X-Content-Type-Options", "nosniff"}}

// Provider is the Dropbox provider plugin.
var Provider = matchers.WithHandshake{Preset: Preset, Handshake: handshake}

// handshake echoes the challenge of a verification GET. A GET without one,
// and every POST, is left to Verify.
func handshake(_ *matchers.PresetInstance, r *provider.Request, w *provider.Reply) (bool, error) {
	if !r.Req.Header.IsGet() {
		return false, nil
	}
	c := r.Query("challenge")
	if len(c) == 0 {
		return false, nil
	}
	w.Status, w.ContentType, w.Header = 200, "text/plain", nosniff
	w.Body = append([]byte(nil), c...)
	return true, nil
}
