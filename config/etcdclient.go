package config

import (
	"crypto/tls"
	"fmt"

	"go.etcd.io/etcd/client/pkg/v3/transport"
)

// ClientTLS returns the TLS configuration of an etcd client (SPEC §11):
// caFile verifies the servers (the system roots when empty), certFile and
// keyFile are the client's certificate, for servers that require one. All
// empty returns nil: no TLS.
func ClientTLS(caFile, certFile, keyFile string) (*tls.Config, error) {
	if caFile == "" && certFile == "" && keyFile == "" {
		return nil, nil
	}
	if (certFile == "") != (keyFile == "") {
		return nil, fmt.Errorf("config: etcd client TLS: a certificate needs its key and a key its certificate")
	}
	info := transport.TLSInfo{CertFile: certFile, KeyFile: keyFile, TrustedCAFile: caFile}
	c, err := info.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("config: etcd client TLS: %w", err)
	}
	return c, nil
}
