package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

// envFlags is a FlagSet whose flags may also be set by EDGEHOOK_*
// environment variables (--max-body reads EDGEHOOK_MAX_BODY).
type envFlags struct{ *flag.FlagSet }

func newFlags(name string) envFlags {
	return envFlags{flag.NewFlagSet(name, flag.ContinueOnError)}
}

func envName(flagName string) string {
	return "EDGEHOOK_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// fromEnv sets the flag from its environment variable, if present; command
// line flags parsed afterwards still win.
func (f envFlags) fromEnv(name string) {
	if v, ok := os.LookupEnv(envName(name)); ok {
		if err := f.Set(name, v); err != nil {
			fmt.Fprintf(os.Stderr, "edgehook: %s: %v\n", envName(name), err)
			os.Exit(2)
		}
	}
}

// parseSchedule parses --retry-schedule: comma-separated Go durations.
func parseSchedule(s string) ([]time.Duration, error) {
	var out []time.Duration
	for _, p := range strings.Split(s, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(p))
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("--retry-schedule: %q is not a positive duration", p)
		}
		out = append(out, d)
	}
	return out, nil
}
