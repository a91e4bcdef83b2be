package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// adminCommand runs one admin sub-command against a gateway's admin API.
func adminCommand(cmd string, args []string) error {
	f := newFlags(cmd)
	admin := f.String("admin", envOr("admin-url", "http://127.0.0.1:8081"), "admin API base URL (EDGEHOOK_ADMIN_URL)")
	token := f.String("admin-token", envOr("admin-token", ""), "admin bearer token (EDGEHOOK_ADMIN_TOKEN)")
	file := f.String("f", "", "JSON file to PUT or post (- for stdin)")
	status := f.String("status", "dead", "deliveries to list: dead or pending")
	force := f.Bool("force", false, "connection delete: remove at once, skipping the pre-deletion hook")
	limit := f.Int("limit", 0, "list: page size (default 100, at most 1000)")
	after := f.String("after", "", "list: start after this name or id (the next_after of the previous page)")
	if err := f.Parse(reorder(args)); err != nil {
		return err
	}
	method, path, err := adminRequest(cmd, f.Args(), *status)
	if err == nil && (*limit > 0 || *after != "") {
		if !isList(cmd, f.Args()) {
			return errors.New("-limit and -after apply to lists only")
		}
		q := url.Values{}
		if *limit > 0 {
			q.Set("limit", strconv.Itoa(*limit))
		}
		if *after != "" {
			q.Set("after", *after)
		}
		path += "?" + q.Encode()
	}
	if err == nil && *force {
		if cmd != "connection" || method != http.MethodDelete {
			return errors.New("-force applies to connection delete only")
		}
		path += "?force=true"
	}
	if err != nil {
		return err
	}
	var body io.Reader
	if method == http.MethodPut || cmd == "sync-notify" {
		b, err := readInput(*file)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	return call(method, strings.TrimSuffix(*admin, "/")+path, *token, body)
}

// reorder moves flags before positional arguments, so that
// `edgehook env put demo -f env.json` parses like the flag package expects.
func reorder(args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") && a != "-" {
			flags = append(flags, a)
			if !strings.Contains(a, "=") && !isBoolFlag(a) && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
			continue
		}
		pos = append(pos, a)
	}
	return append(flags, pos...)
}

// isBoolFlag reports whether a is a flag that takes no value.
func isBoolFlag(a string) bool { return strings.TrimLeft(a, "-") == "force" }

// isList reports whether a sub-command lists objects.
func isList(cmd string, a []string) bool {
	return len(a) > 0 && a[0] == "list" && (cmd == "env" || cmd == "integration" || cmd == "connection")
}

// listPath maps `env|integration|connection list …` to its path.
func listPath(cmd string, a []string) (string, error) {
	esc := url.PathEscape
	want := map[string]int{"env": 0, "integration": 1, "connection": 2}[cmd]
	if len(a) != want+1 {
		return "", fmt.Errorf("%s list: want %d arguments", cmd, want)
	}
	switch cmd {
	case "env":
		return "/v1/environments", nil
	case "integration":
		return "/v1/environments/" + esc(a[1]) + "/integrations", nil
	}
	return "/v1/environments/" + esc(a[1]) + "/integrations/" + esc(a[2]) + "/connections", nil
}

// adminRequest maps a sub-command and its arguments to a method and path.
func adminRequest(cmd string, a []string, status string) (method, path string, err error) {
	esc := url.PathEscape
	if isList(cmd, a) {
		path, err = listPath(cmd, a)
		return http.MethodGet, path, err
	}
	verb := func(n int) (string, error) {
		if len(a) != n+1 {
			return "", fmt.Errorf("%s: want %d arguments after the verb", cmd, n)
		}
		switch a[0] {
		case "get":
			return http.MethodGet, nil
		case "put":
			return http.MethodPut, nil
		case "delete":
			if cmd == "connection" {
				return http.MethodDelete, nil
			}
		}
		return "", fmt.Errorf("%s: unknown verb %q", cmd, a[0])
	}
	switch cmd {
	case "env":
		method, err = verb(1)
		if err == nil {
			path = "/v1/environments/" + esc(a[1])
		}
	case "integration":
		method, err = verb(2)
		if err == nil {
			path = "/v1/environments/" + esc(a[1]) + "/integrations/" + esc(a[2])
		}
	case "connection":
		method, err = verb(3)
		if err == nil {
			path = "/v1/environments/" + esc(a[1]) + "/integrations/" + esc(a[2]) + "/connections/" + esc(a[3])
		}
	case "deliveries":
		if len(a) != 1 {
			return "", "", errors.New("deliveries: want ENV")
		}
		method, path = http.MethodGet, "/v1/environments/"+esc(a[0])+"/deliveries?status="+url.QueryEscape(status)
	case "hook":
		if len(a) != 5 || a[0] != "retry" {
			return "", "", errors.New("hook: want retry ENV INTEGRATION ID HOOK")
		}
		method = http.MethodPost
		path = "/v1/environments/" + esc(a[1]) + "/integrations/" + esc(a[2]) + "/connections/" + esc(a[3]) + "/hooks/" + esc(a[4]) + "/retry"
	case "sync-notify":
		if len(a) != 1 {
			return "", "", errors.New("sync-notify: want ENV -f FILE")
		}
		method, path = http.MethodPost, "/v1/environments/"+esc(a[0])+"/sync-notifications"
	case "retry":
		if len(a) != 2 {
			return "", "", errors.New("retry: want ENV DELIVERY_ID")
		}
		method, path = http.MethodPost, "/v1/environments/"+esc(a[0])+"/deliveries/"+esc(a[1])+"/retry"
	case "delivery":
		if len(a) != 2 {
			return "", "", errors.New("delivery: want ENV DELIVERY_ID")
		}
		method, path = http.MethodGet, "/v1/environments/"+esc(a[0])+"/deliveries/"+esc(a[1])
	case "destinations":
		if len(a) != 0 {
			return "", "", errors.New("destinations: takes no arguments")
		}
		method, path = http.MethodGet, "/v1/destinations"
	}
	return method, path, err
}

func readInput(file string) ([]byte, error) {
	switch file {
	case "":
		return nil, errors.New("this command needs -f FILE (or -f - for stdin)")
	case "-":
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(file)
}

// call makes the request and prints the response body; a non-2xx status is
// an error.
func call(method, u, token string, body io.Reader) error {
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if len(out) > 0 {
		fmt.Println(string(out))
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s", method, u, resp.Status)
	}
	return nil
}
