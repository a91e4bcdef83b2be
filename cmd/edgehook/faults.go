package main

import (
	"errors"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"

	"github.com/edgehook/edgehook/config"
	"github.com/edgehook/edgehook/gateway"
)

// faultFlags are the `edgehook serve` flags of SPEC §11: spool budgets,
// the stale configuration bound, the drain, the listeners' limits, etcd
// TLS and authentication, and envelope encryption.
type faultFlags struct {
	spoolMaxBytes, spoolMinFree             int64
	staleConfigMax                          time.Duration
	shutdownDelay, shutdownTimeout          time.Duration
	headerTimeout, bodyTimeout, idleTimeout time.Duration
	maxHeaderBytes, maxConns, maxConnsPerIP int
	etcdCA, etcdCert, etcdKey               string
	etcdUser, etcdPassword                  string
	embeddedCert, embeddedKey, embeddedCA   string
	secretsKeyFile                          string
}

// register defines the flags on f and reads their EDGEHOOK_* variables.
func (ff *faultFlags) register(f envFlags) {
	f.Int64Var(&ff.spoolMaxBytes, "spool-max-bytes", 0, "spool byte budget; 0 = 80% of the disk space free at start (EDGEHOOK_SPOOL_MAX_BYTES)")
	f.Int64Var(&ff.spoolMinFree, "spool-min-free", 1<<30, "disk space the spool keeps free; ingress answers 503 below it (EDGEHOOK_SPOOL_MIN_FREE)")
	f.DurationVar(&ff.staleConfigMax, "stale-config-max", 15*time.Minute, "how long cached configuration keeps serving after the etcd watch broke (EDGEHOOK_STALE_CONFIG_MAX)")
	f.DurationVar(&ff.shutdownDelay, "shutdown-delay", 5*time.Second, "on SIGTERM, how long /readyz answers 503 before the listeners close (EDGEHOOK_SHUTDOWN_DELAY)")
	f.DurationVar(&ff.shutdownTimeout, "shutdown-timeout", 30*time.Second, "on SIGTERM, how long delivery attempts in flight may finish (EDGEHOOK_SHUTDOWN_TIMEOUT)")
	f.DurationVar(&ff.headerTimeout, "header-timeout", 10*time.Second, "time to read a request header (EDGEHOOK_HEADER_TIMEOUT)")
	f.DurationVar(&ff.bodyTimeout, "body-timeout", 60*time.Second, "time to read a request body, after its header (EDGEHOOK_BODY_TIMEOUT)")
	f.DurationVar(&ff.idleTimeout, "idle-timeout", 60*time.Second, "keep-alive connections idle this long are closed (EDGEHOOK_IDLE_TIMEOUT)")
	f.IntVar(&ff.maxHeaderBytes, "max-header-bytes", 32<<10, "largest request header; 431 beyond (EDGEHOOK_MAX_HEADER_BYTES)")
	f.IntVar(&ff.maxConns, "max-conns", 16384, "connections served at once, per listener (EDGEHOOK_MAX_CONNS)")
	f.IntVar(&ff.maxConnsPerIP, "max-conns-per-ip", 1024, "connections from one address at once, per listener; 0 = no limit, behind a load balancer (EDGEHOOK_MAX_CONNS_PER_IP)")
	f.StringVar(&ff.etcdCA, "etcd-cacert", envOr("etcd-cacert", ""), "CA bundle verifying the etcd servers (EDGEHOOK_ETCD_CACERT)")
	f.StringVar(&ff.etcdCert, "etcd-cert", envOr("etcd-cert", ""), "client certificate for etcd (EDGEHOOK_ETCD_CERT)")
	f.StringVar(&ff.etcdKey, "etcd-key", envOr("etcd-key", ""), "client certificate key for etcd (EDGEHOOK_ETCD_KEY)")
	f.StringVar(&ff.etcdUser, "etcd-username", envOr("etcd-username", ""), "etcd user (EDGEHOOK_ETCD_USERNAME)")
	f.StringVar(&ff.etcdPassword, "etcd-password", envOr("etcd-password", ""), "etcd password (EDGEHOOK_ETCD_PASSWORD)")
	f.StringVar(&ff.embeddedCert, "embedded-etcd-cert", envOr("embedded-etcd-cert", ""), "TLS certificate of the embedded etcd's client port; needed to listen beyond loopback (EDGEHOOK_EMBEDDED_ETCD_CERT)")
	f.StringVar(&ff.embeddedKey, "embedded-etcd-key", envOr("embedded-etcd-key", ""), "key of --embedded-etcd-cert (EDGEHOOK_EMBEDDED_ETCD_KEY)")
	f.StringVar(&ff.embeddedCA, "embedded-etcd-client-ca", envOr("embedded-etcd-client-ca", ""), "CA the embedded etcd requires client certificates from (EDGEHOOK_EMBEDDED_ETCD_CLIENT_CA)")
	f.StringVar(&ff.secretsKeyFile, "secrets-key-file", envOr("secrets-key-file", ""), "key file sealing secret fields in etcd with AES-256-GCM: lines `<id> <base64 32 bytes>`, the first seals (EDGEHOOK_SECRETS_KEY_FILE)")
	for _, n := range []string{"spool-max-bytes", "spool-min-free", "stale-config-max", "shutdown-delay", "shutdown-timeout",
		"header-timeout", "body-timeout", "idle-timeout", "max-header-bytes", "max-conns", "max-conns-per-ip"} {
		f.fromEnv(n)
	}
}

func (ff *faultFlags) check() error {
	switch {
	case ff.spoolMaxBytes < 0 || ff.spoolMinFree < 0:
		return errors.New("serve: --spool-max-bytes and --spool-min-free must not be negative")
	case ff.staleConfigMax <= 0 || ff.shutdownTimeout <= 0 || ff.shutdownDelay < 0:
		return errors.New("serve: --stale-config-max and --shutdown-timeout must be positive, --shutdown-delay not negative")
	case ff.headerTimeout <= 0 || ff.bodyTimeout <= 0 || ff.idleTimeout <= 0:
		return errors.New("serve: --header-timeout, --body-timeout and --idle-timeout must be positive")
	case ff.maxHeaderBytes < 16<<10:
		return errors.New("serve: --max-header-bytes must be at least 16384")
	case ff.maxConns <= 0 || ff.maxConnsPerIP < 0:
		return errors.New("serve: --max-conns must be positive, --max-conns-per-ip not negative")
	}
	return nil
}

// gatewayLimits are the gateway options the flags set.
func (ff *faultFlags) gatewayLimits(o *gateway.Options) {
	o.HeaderTimeout, o.BodyTimeout, o.IdleTimeout = ff.headerTimeout, ff.bodyTimeout, ff.idleTimeout
	o.MaxHeaderBytes, o.MaxConns, o.MaxConnsPerIP = ff.maxHeaderBytes, ff.maxConns, ff.maxConnsPerIP
	if ff.maxConnsPerIP == 0 {
		o.MaxConnsPerIP = -1
	}
}

// embedded are the options of the embedded etcd.
func (ff *faultFlags) embedded(listen string) config.EmbeddedOptions {
	return config.EmbeddedOptions{Listen: listen, CertFile: ff.embeddedCert, KeyFile: ff.embeddedKey, ClientCAFile: ff.embeddedCA}
}

// etcdClient connects to endpoints with the TLS and authentication the
// flags name. The embedded etcd's own client trusts its certificate.
func (ff *faultFlags) etcdClient(endpoints []string, embedded bool) (*clientv3.Client, error) {
	ca, cert, key := ff.etcdCA, ff.etcdCert, ff.etcdKey
	if embedded && ff.embeddedCert != "" && ca == "" {
		ca = ff.embeddedCert
		if ff.embeddedCA != "" && cert == "" {
			return nil, errors.New("serve: with --embedded-etcd-client-ca, --etcd-cert and --etcd-key name this gateway's own client certificate")
		}
	}
	tls, err := config.ClientTLS(ca, cert, key)
	if err != nil {
		return nil, err
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second, TLS: tls,
		Username: ff.etcdUser, Password: ff.etcdPassword, Logger: nil,
		DialOptions: []grpc.DialOption{config.ReconnectFast()}})
	if err != nil {
		return nil, fmt.Errorf("serve: etcd client: %w", err)
	}
	return cli, nil
}

// sealer returns the Sealer of --secrets-key-file, nil without one.
func (ff *faultFlags) sealer() (*config.Sealer, error) {
	if ff.secretsKeyFile == "" {
		return nil, nil
	}
	return config.LoadSealer(ff.secretsKeyFile)
}
