// Command edgehook is the webhook edge gateway: `edgehook serve` runs it,
// and the other sub-commands call a running gateway's admin API.
package main

import (
	"fmt"
	"os"
)

const usage = `usage: edgehook <command> [flags]

commands:
  serve                                   run the gateway (see: edgehook serve -h)
  env get|put ENV [-f FILE]               read or write an environment
  env list                                list the environments
  integration get|put ENV NAME [-f FILE]  read or write an integration
  integration list ENV                    list an environment's integrations
  connection get|put|delete ENV INTEGRATION ID [-f FILE] [-force]
                                          (-force: delete at once, skipping a pre-deletion hook)
  connection list ENV INTEGRATION         list an integration's connections
                                          (lists take -limit N and -after NAME, the next_after of the last page)
  hook retry ENV INTEGRATION ID HOOK      run a connection's failed lifecycle hook again
                                          (post_connection_creation, pre_connection_deletion)
  deliveries ENV [-status dead|pending]   list dead or pending deliveries
  retry ENV DELIVERY_ID                   retry a dead delivery
  delivery ENV DELIVERY_ID                show a pending or dead delivery with its attempts
  destinations                            list destinations: circuit state, pending, in flight, last error
  sync-notify ENV -f FILE                 post a sync webhook body for the environment's app
  secrets keygen ID                       print a key file line with a fresh key named ID
  secrets reencrypt --etcd URL --secrets-key-file FILE
                                          seal every stored secret with the file's first key

Admin commands take --admin (EDGEHOOK_ADMIN_URL, default http://127.0.0.1:8081)
and --admin-token (EDGEHOOK_ADMIN_TOKEN); -f - reads the JSON from stdin.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "serve":
		err = serve(args)
	case "secrets":
		err = secretsCommand(args)
	case "env", "integration", "connection", "deliveries", "retry", "hook", "delivery", "destinations", "sync-notify":
		err = adminCommand(cmd, args)
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "edgehook: unknown command %q\n\n%s", cmd, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "edgehook:", err)
		os.Exit(1)
	}
}
