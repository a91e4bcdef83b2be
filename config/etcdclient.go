package config

import (
	"crypto/tls"
	"fmt"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
)

// ReconnectFast is the dial option of every etcd client of the gateway:
// while etcd is unreachable the client tries again at least every second
// (gRPC's default backs off to two minutes), so that once etcd returns
// the cache's watch resumes within about a second.
func ReconnectFast() grpc.DialOption {
	return grpc.WithConnectParams(grpc.ConnectParams{
		Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
		MinConnectTimeout: time.Second,
	})
}

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
