package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// NATS servers sync their JetStream files to disk every two minutes
// unless configured with sync_interval: always; published fault tests
// lost acknowledged writes without it. A 2xx is an acknowledgement that
// the event is on disk (SPEC §3), so the gateway checks each server's
// setting at start, where the monitoring endpoint answers, and warns.

// syncState is what a server's /varz says of its JetStream sync.
type syncState struct {
	Server    string
	Always    bool
	Interval  time.Duration
	Reachable bool
}

// warnUnsynced checks the servers of spoolURL (or the monitoring URLs
// given) and logs a warning for each that does not sync every write, or
// cannot be checked.
func warnUnsynced(spoolURL, monitor string, log *slog.Logger) {
	for _, u := range monitorURLs(spoolURL, monitor) {
		st := checkSync(u)
		switch {
		case !st.Reachable:
			log.Warn("spool: cannot check the NATS server's sync setting; it must run with jetstream { sync_interval: always } or acknowledged events can be lost in a crash",
				"monitor", u, "hint", "set --spool-monitor to its monitoring URL")
		case !st.Always:
			log.Warn("spool: the NATS server does not sync every write (sync_interval: always); acknowledged events can be lost when it crashes",
				"server", st.Server, "sync_interval", st.Interval.String())
		default:
			log.Info("spool: the NATS server syncs every write", "server", st.Server)
		}
	}
}

// monitorURLs returns the monitoring URLs to check: those given, else
// port 8222 (the servers' usual http_port) of each spool server.
func monitorURLs(spoolURL, monitor string) []string {
	if monitor != "" {
		return splitList(monitor)
	}
	var out []string
	for _, s := range splitList(spoolURL) {
		u, err := url.Parse(s)
		if err != nil || u.Hostname() == "" {
			continue
		}
		out = append(out, "http://"+net.JoinHostPort(u.Hostname(), "8222"))
	}
	return out
}

// checkSync reads monitor's /varz.
func checkSync(monitor string) syncState {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(monitor, "/")+"/varz", nil)
	if err != nil {
		return syncState{}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return syncState{}
	}
	defer resp.Body.Close()
	var v struct {
		Name      string `json:"server_name"`
		JetStream struct {
			Config struct {
				SyncAlways   bool          `json:"sync_always"`
				SyncInterval time.Duration `json:"sync_interval"`
			} `json:"config"`
		} `json:"jetstream"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&v) != nil {
		return syncState{}
	}
	return syncState{Server: fmt.Sprint(v.Name), Always: v.JetStream.Config.SyncAlways,
		Interval: v.JetStream.Config.SyncInterval, Reachable: true}
}
