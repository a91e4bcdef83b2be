package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// embeddedReadyTimeout bounds how long StartEmbedded waits for the member to
// become ready (a fresh single member elects itself in about a second).
const embeddedReadyTimeout = 60 * time.Second

// Embedded is a single-member etcd running inside the process, used when no
// external etcd is configured and by tests.
type Embedded struct {
	etcd      *embed.Etcd
	endpoints []string
}

// EmbeddedOptions configures an embedded etcd.
type EmbeddedOptions struct {
	// Listen is the client address (host:port); "" picks a free loopback
	// port. Without TLS it must be a loopback address: a plaintext etcd
	// without authentication would give anyone who reaches it the whole
	// configuration, past the admin token.
	Listen string
	// CertFile and KeyFile serve the client port over TLS; with
	// ClientCAFile, clients must present a certificate it signed.
	CertFile, KeyFile, ClientCAFile string
}

// StartEmbedded starts a single-member etcd whose data lives under dir,
// its clients served in clear on clientListen, which must be loopback
// (see EmbeddedOptions).
func StartEmbedded(dir, clientListen string) (*Embedded, error) {
	return StartEmbeddedWith(dir, EmbeddedOptions{Listen: clientListen})
}

// StartEmbeddedWith starts a single-member etcd whose data lives under dir
// and waits until it serves. The peer address is always a free loopback
// port, so several instances in one process or host never collide.
func StartEmbeddedWith(dir string, o EmbeddedOptions) (*Embedded, error) {
	tls := o.CertFile != "" || o.KeyFile != ""
	if tls && (o.CertFile == "" || o.KeyFile == "") {
		return nil, errors.New("config: embedded etcd: TLS needs both a certificate and a key")
	}
	if !tls && o.Listen != "" && !loopbackListen(o.Listen) {
		return nil, fmt.Errorf("config: embedded etcd listen address %q is not loopback: serving etcd beyond this host needs TLS", o.Listen)
	}
	client, err := clientURL(o.Listen)
	if err != nil {
		return nil, err
	}
	peer, err := freeLoopbackURL()
	if err != nil {
		return nil, err
	}
	cfg := embeddedConfig(dir, client, peer)
	if tls {
		client.Scheme = "https"
		cfg.ListenClientUrls = []url.URL{*client}
		cfg.AdvertiseClientUrls = []url.URL{*client}
		cfg.ClientTLSInfo.CertFile, cfg.ClientTLSInfo.KeyFile = o.CertFile, o.KeyFile
		if o.ClientCAFile != "" {
			cfg.ClientTLSInfo.TrustedCAFile, cfg.ClientTLSInfo.ClientCertAuth = o.ClientCAFile, true
		}
	}
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("config: starting embedded etcd: %w", err)
	}
	if err := waitReady(e); err != nil {
		e.Close()
		return nil, err
	}
	return &Embedded{etcd: e, endpoints: []string{client.String()}}, nil
}

// embeddedConfig is the embed configuration: quiet logging, hourly
// compaction so the history does not grow without bound.
func embeddedConfig(dir string, client, peer *url.URL) *embed.Config {
	cfg := embed.NewConfig()
	cfg.Name = "edgehook"
	cfg.Dir = dir
	cfg.ListenClientUrls = []url.URL{*client}
	cfg.AdvertiseClientUrls = []url.URL{*client}
	cfg.ListenPeerUrls = []url.URL{*peer}
	cfg.AdvertisePeerUrls = []url.URL{*peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.InitialClusterToken = "edgehook-embedded"
	cfg.AutoCompactionMode = embed.CompactorModePeriodic
	cfg.AutoCompactionRetention = "1h"
	cfg.LogLevel = "error"
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	return cfg
}

func waitReady(e *embed.Etcd) error {
	select {
	case <-e.Server.ReadyNotify():
		return nil
	case err := <-e.Err():
		return fmt.Errorf("config: embedded etcd: %w", err)
	case <-time.After(embeddedReadyTimeout):
		return errors.New("config: embedded etcd: not ready after " + embeddedReadyTimeout.String())
	}
}

// clientURL turns a host:port into an http URL, or picks a free loopback
// port for "".
func clientURL(listen string) (*url.URL, error) {
	if listen == "" {
		return freeLoopbackURL()
	}
	if _, _, err := net.SplitHostPort(listen); err != nil {
		return nil, fmt.Errorf("config: embedded etcd listen address %q: %w", listen, err)
	}
	return &url.URL{Scheme: "http", Host: listen}, nil
}

// loopbackListen reports whether host:port names a loopback address.
func loopbackListen(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// freeLoopbackURL returns http://127.0.0.1:port for a port that was free a
// moment ago.
func freeLoopbackURL() (*url.URL, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("config: picking a free port: %w", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		return nil, fmt.Errorf("config: picking a free port: %w", err)
	}
	return &url.URL{Scheme: "http", Host: addr}, nil
}

// Endpoints returns the client URLs to give to clientv3.
func (e *Embedded) Endpoints() []string { return append([]string(nil), e.endpoints...) }

// Close stops the member and waits until it has shut down.
func (e *Embedded) Close() { e.etcd.Close() }
