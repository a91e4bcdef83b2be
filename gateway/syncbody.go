package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// syncNotification is a posted sync webhook body (SPEC §8), validated.
type syncNotification struct {
	ConnectionID      string
	ProviderConfigKey string
	SyncName, Model   string
	// Body is what the app receives: the posted bytes, with
	// "from":"nango" first in the object when the body had no "from".
	Body []byte
}

// syncField checks one top-level field of a posted sync webhook; success
// says which body it may appear in: "" both, "true" success only,
// "false" failure only.
type syncField struct {
	check   func(raw json.RawMessage) error
	success string
}

// requiredSyncFields are the fields every posted sync webhook has.
var requiredSyncFields = []string{"connectionId", "providerConfigKey", "syncName", "model", "syncType", "success"}

var syncFields = map[string]syncField{
	"from":              {check: nonEmptyString},
	"type":              {check: oneOf("sync")},
	"connectionId":      {check: nonEmptyString},
	"providerConfigKey": {check: nonEmptyString},
	"syncName":          {check: nonEmptyString},
	"model":             {check: nonEmptyString},
	"syncType":          {check: oneOf("INITIAL", "INCREMENTAL", "WEBHOOK")},
	"success":           {check: boolean},
	"syncVariant":       {check: isString},
	"operation":         {check: isString},
	"responseResults":   {check: responseResults, success: "true"},
	"modifiedAfter":     {check: timeOrNull, success: "true"},
	"queryTimeStamp":    {check: timeOrNull, success: "true"},
	"error":             {check: syncError, success: "false"},
	"startedAt":         {check: timestamp, success: "false"},
	"failedAt":          {check: timestamp, success: "false"},
}

// parseSyncNotification validates a posted sync webhook body strictly:
// one JSON object; connectionId, providerConfigKey, syncName, model,
// syncType and success present and of their types; every other field one
// the success or the failure body (as success says) may carry, of its
// type. Errors describe the first problem found.
func parseSyncNotification(body []byte) (*syncNotification, error) {
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&fields); err != nil || fields == nil {
		return nil, errors.New("sync notification: want one JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("sync notification: data after the JSON object")
	}
	for _, name := range requiredSyncFields {
		raw, ok := fields[name]
		if !ok {
			return nil, fmt.Errorf("sync notification: %q is required", name)
		}
		if err := syncFields[name].check(raw); err != nil {
			return nil, fmt.Errorf("sync notification: %q: %w", name, err)
		}
	}
	success := string(fields["success"])
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		f, ok := syncFields[name]
		if !ok {
			return nil, fmt.Errorf("sync notification: unknown field %q", name)
		}
		if err := f.check(fields[name]); err != nil {
			return nil, fmt.Errorf("sync notification: %q: %w", name, err)
		}
		if f.success != "" && f.success != success {
			return nil, fmt.Errorf("sync notification: %q belongs to a body with \"success\":%s", name, f.success)
		}
	}
	n := &syncNotification{Body: body}
	json.Unmarshal(fields["connectionId"], &n.ConnectionID)
	json.Unmarshal(fields["providerConfigKey"], &n.ProviderConfigKey)
	json.Unmarshal(fields["syncName"], &n.SyncName)
	json.Unmarshal(fields["model"], &n.Model)
	if _, ok := fields["from"]; !ok {
		n.Body = insertFrom(body)
	}
	return n, nil
}

// insertFrom returns a copy of the JSON object obj, which has at least
// one field, with "from":"nango" as its first field; every other byte is
// as in obj.
func insertFrom(obj []byte) []byte {
	i := bytes.IndexByte(obj, '{') + 1
	const from = `"from":"nango",`
	out := make([]byte, 0, len(obj)+len(from))
	out = append(out, obj[:i]...)
	out = append(out, from...)
	return append(out, obj[i:]...)
}

func isString(raw json.RawMessage) error {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return errors.New("want a string")
	}
	return nil
}

func nonEmptyString(raw json.RawMessage) error {
	if err := isString(raw); err != nil {
		return err
	}
	if string(raw) == `""` {
		return errors.New("want a non-empty string")
	}
	return nil
}

func oneOf(values ...string) func(json.RawMessage) error {
	return func(raw json.RawMessage) error {
		var s string
		if isString(raw) == nil && json.Unmarshal(raw, &s) == nil {
			for _, v := range values {
				if s == v {
					return nil
				}
			}
		}
		return fmt.Errorf("want %q", strings.Join(values, `" or "`))
	}
}

func boolean(raw json.RawMessage) error {
	if s := string(raw); s != "true" && s != "false" {
		return errors.New("want true or false")
	}
	return nil
}

func timestamp(raw json.RawMessage) error {
	var s string
	if isString(raw) != nil || json.Unmarshal(raw, &s) != nil {
		return errors.New("want an RFC 3339 time")
	}
	if _, err := time.Parse(time.RFC3339, s); err != nil {
		return errors.New("want an RFC 3339 time")
	}
	return nil
}

func timeOrNull(raw json.RawMessage) error {
	if string(raw) == "null" {
		return nil
	}
	if timestamp(raw) != nil {
		return errors.New("want an RFC 3339 time or null")
	}
	return nil
}

// syncError checks a failure body's error: {"type":"…","description":"…"}.
func syncError(raw json.RawMessage) error {
	var e struct {
		Type        *string `json:"type"`
		Description *string `json:"description"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if raw[0] != '{' || dec.Decode(&e) != nil || e.Type == nil || e.Description == nil {
		return errors.New(`want {"type":"…","description":"…"}`)
	}
	return nil
}

// responseResults checks {"added":N,"updated":N,"deleted":N} (N a
// non-negative integer), or, from older clients, an object of those keyed
// by model, where "deleted" may be absent.
func responseResults(raw json.RawMessage) error {
	var byKey map[string]json.RawMessage
	if raw[0] != '{' || json.Unmarshal(raw, &byKey) != nil {
		return errors.New("want an object")
	}
	flat := 0
	for _, v := range byKey {
		if v[0] != '{' {
			flat++
		}
	}
	switch {
	case flat == len(byKey) && len(byKey) > 0:
		return syncResult(byKey, true)
	case flat == 0:
		for model, v := range byKey {
			var r map[string]json.RawMessage
			json.Unmarshal(v, &r)
			if err := syncResult(r, false); err != nil {
				return fmt.Errorf("model %q: %w", model, err)
			}
		}
		return nil
	}
	return errors.New(`want {"added":N,"updated":N,"deleted":N}, or such objects keyed by model`)
}

// syncResult checks one result object's fields.
func syncResult(r map[string]json.RawMessage, needDeleted bool) error {
	for k, v := range r {
		if k != "added" && k != "updated" && k != "deleted" {
			return fmt.Errorf("unknown field %q", k)
		}
		if !isCount(v) {
			return fmt.Errorf("%q: want a non-negative integer", k)
		}
	}
	for _, k := range []string{"added", "updated", "deleted"} {
		if _, ok := r[k]; !ok && (k != "deleted" || needDeleted) {
			return fmt.Errorf("%q is required", k)
		}
	}
	return nil
}

// isCount reports whether raw is a JSON integer ≥ 0 without fraction or
// exponent.
func isCount(raw json.RawMessage) bool {
	if len(raw) == 0 || len(raw) > 19 {
		return false
	}
	for _, c := range raw {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
