package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/edgehook/edgehook/config"
	"github.com/edgehook/edgehook/plugins"
	"github.com/edgehook/edgehook/provider"
)

// secretsCommand runs `edgehook secrets keygen ID` (print a key file line)
// and `edgehook secrets reencrypt` (seal every stored secret with the key
// file's first key, SPEC §11). Re-encryption talks to etcd directly, with
// the etcd flags of serve.
func secretsCommand(args []string) error {
	if len(args) == 0 {
		return errors.New("secrets: want keygen ID or reencrypt [flags]")
	}
	switch args[0] {
	case "keygen":
		if len(args) != 2 {
			return errors.New("secrets keygen: want a key id")
		}
		fmt.Println(config.NewKeyLine(args[1]))
		return nil
	case "reencrypt":
		return reencrypt(args[1:])
	}
	return fmt.Errorf("secrets: unknown command %q", args[0])
}

func reencrypt(args []string) error {
	f := newFlags("secrets reencrypt")
	var etcd, prefix string
	var ff faultFlags
	f.StringVar(&etcd, "etcd", envOr("etcd", ""), "comma-separated etcd endpoint URLs (EDGEHOOK_ETCD)")
	f.StringVar(&prefix, "etcd-prefix", envOr("etcd-prefix", "/edgehook"), "etcd key prefix (EDGEHOOK_ETCD_PREFIX)")
	ff.register(f)
	if err := f.Parse(args); err != nil {
		return err
	}
	endpoints := splitList(etcd)
	if len(endpoints) == 0 || ff.secretsKeyFile == "" {
		return errors.New("secrets reencrypt: --etcd and --secrets-key-file are required")
	}
	sealer, err := ff.sealer()
	if err != nil {
		return err
	}
	cli, err := ff.etcdClient(endpoints, false)
	if err != nil {
		return err
	}
	defer cli.Close()
	reg, err := provider.NewRegistry(plugins.All())
	if err != nil {
		return err
	}
	store := config.NewStore(cli, prefix, reg.Provision, config.WithSecretFields(reg.SecretConfigFields), config.WithSealer(sealer))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	n, err := store.Reencrypt(ctx)
	if err != nil {
		return fmt.Errorf("secrets reencrypt: %d values rewritten, then: %w", n, err)
	}
	m, err := store.MigrateRoutes(ctx)
	if err != nil {
		return fmt.Errorf("secrets reencrypt: %w", err)
	}
	fmt.Printf("%d values sealed with key %q; %d connections' credential routes hashed\n", n, sealer.Active(), m)
	return nil
}
