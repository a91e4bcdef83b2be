package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/edgehook/edgehook/config"
)

// etcdDump returns every key and value under /edgehook, read directly.
func etcdDump(t *testing.T, addr string) string {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{"http://" + addr}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, "/edgehook/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, kv := range resp.Kvs {
		b.WriteString(string(kv.Key) + "=" + string(kv.Value) + "\n")
	}
	return b.String()
}

// Acceptance 7: with --secrets-key-file no secret is in clear in etcd;
// `edgehook secrets reencrypt` moves every one to a new key while the
// gateway keeps working, GitHub (signed) and Streak (token) alike.
func TestSecretsEncryptedAtRest(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess secrets test")
	}
	bin := sharedBinary(t)
	keys := filepath.Join(t.TempDir(), "keys")
	k1, k2 := config.NewKeyLine("k1"), config.NewKeyLine("k2")
	if err := os.WriteFile(keys, []byte(k1+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	etcdAddr := freeAddr(t)
	p := runGateway(t, bin, "--data-dir", t.TempDir(), "--embedded-etcd-listen", etcdAddr, "--secrets-key-file", keys)
	sink := newCountSink(t, "app-secret-7")
	p.put(t, "prod", `{"webhook_urls":["`+sink.URL+`"],"webhook_secret":"app-secret-7"}`)
	p.put(t, "prod/integrations/github", `{"provider":"github","webhook_secret":"gh-secret-7"}`)
	p.put(t, "prod/integrations/github/connections/c1", `{"config":{"installation_id":1},"credentials":{"api_key":"cred-secret-7"}}`)
	p.put(t, "prod/integrations/streak", `{"provider":"streak"}`)
	p.put(t, "prod/integrations/streak/connections/s1", `{"config":{"streakWebhookToken":"streak-token-7"}}`)
	secrets := []string{"app-secret-7", "gh-secret-7", "cred-secret-7", "streak-token-7"}
	checkSealed := func(by string) {
		t.Helper()
		dump := etcdDump(t, etcdAddr)
		for _, s := range secrets {
			if strings.Contains(dump, s) {
				t.Fatalf("%q in clear in etcd:\n%s", s, dump)
			}
		}
		if !strings.Contains(dump, "edgehook:v1:"+by+":") || strings.Count(dump, "edgehook:v1:") != strings.Count(dump, "edgehook:v1:"+by+":") {
			t.Fatalf("want every secret sealed with %s:\n%s", by, dump)
		}
	}
	c := &http.Client{Timeout: 5 * time.Second}
	n := 0
	var acked []int
	works := func() {
		t.Helper()
		n++
		if st, err := postGitHub(c, p.ingress, "gh-secret-7", 1, n, 0); st != 200 || err != nil {
			t.Fatalf("GitHub event: %d %v", st, err)
		}
		acked = append(acked, n)
		n++
		body := `{"n":` + strconv.Itoa(n) + `}`
		req, _ := http.NewRequest("POST", "http://"+p.ingress+"/webhook/prod/streak", strings.NewReader(body))
		req.Header.Set("X-Streak-Webhook-Token", "streak-token-7")
		resp, err := c.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("Streak event: %v %v", resp, err)
		}
		resp.Body.Close()
		acked = append(acked, n)
		sink.waitAll(t, acked, 10*time.Second) // X-Nango-Hmac-Sha256 verified with the environment's secret
	}
	checkSealed("k1")
	works()

	if err := os.WriteFile(keys, []byte(k2+"\n"+k1+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "secrets", "reencrypt", "--etcd", "http://"+etcdAddr, "--secrets-key-file", keys).CombinedOutput()
	if err != nil {
		t.Fatalf("secrets reencrypt: %v\n%s", err, out)
	}
	t.Logf("reencrypt: %s", out)
	checkSealed("k2")
	time.Sleep(1100 * time.Millisecond) // the gateway reads its key file again at most once a second
	works()
}
