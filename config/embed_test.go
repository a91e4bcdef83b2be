package config

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

func TestEmbeddedRestartKeepsData(t *testing.T) {
	dir := t.TempDir()
	put := func(e *Embedded, f func(*clientv3.Client, context.Context)) {
		cli, err := clientv3.New(clientv3.Config{Endpoints: e.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
		if err != nil {
			t.Fatal(err)
		}
		defer cli.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		f(cli, ctx)
	}
	e, err := StartEmbedded(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	put(e, func(cli *clientv3.Client, ctx context.Context) {
		if _, err := cli.Put(ctx, "k", "v"); err != nil {
			t.Fatal(err)
		}
	})
	e.Close()
	e, err = StartEmbedded(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	put(e, func(cli *clientv3.Client, ctx context.Context) {
		resp, err := cli.Get(ctx, "k")
		if err != nil || len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "v" {
			t.Fatalf("after restart: %v, %v", resp, err)
		}
	})
}

func TestEmbeddedRejectsBadListen(t *testing.T) {
	if _, err := StartEmbedded(t.TempDir(), "no-port"); err == nil {
		t.Fatal("want an error for a listen address without a port")
	}
}

// writeCert writes a self-signed certificate for 127.0.0.1 and its key.
func writeCert(t *testing.T) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "edgehook-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IsCA:        true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}), 0o600)
	return cert, key
}

// The embedded etcd serves beyond loopback only over TLS.
func TestEmbeddedBeyondLoopbackNeedsTLS(t *testing.T) {
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	listen := fmt.Sprintf("0.0.0.0:%d", port)
	if _, err := StartEmbedded(t.TempDir(), listen); err == nil || !strings.Contains(err.Error(), "TLS") {
		t.Fatalf("plaintext on %s: %v, want refused", listen, err)
	}
	cert, key := writeCert(t)
	e, err := StartEmbeddedWith(t.TempDir(), EmbeddedOptions{Listen: listen, CertFile: cert, KeyFile: key, ClientCAFile: cert})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ep := fmt.Sprintf("https://127.0.0.1:%d", port)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	noCert, _ := ClientTLS(cert, "", "")
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{ep}, DialTimeout: 2 * time.Second, TLS: noCert, Logger: zap.NewNop()})
	if err == nil {
		c2, cancel2 := context.WithTimeout(ctx, 2*time.Second)
		_, err = cli.Put(c2, "k", "v")
		cancel2()
		cli.Close()
	}
	if err == nil {
		t.Fatal("a client without a certificate was served")
	}
	withCert, err := ClientTLS(cert, cert, key)
	if err != nil {
		t.Fatal(err)
	}
	cli, err = clientv3.New(clientv3.Config{Endpoints: []string{ep}, DialTimeout: 5 * time.Second, TLS: withCert, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if _, err := cli.Put(ctx, "k", "v"); err != nil {
		t.Fatalf("TLS client: %v", err)
	}
}
