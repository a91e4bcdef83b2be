package matchers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// DecodeOptions decodes an integration's options JSON into v strictly: an
// unknown field, a wrong type or trailing data is an error. nil, empty or
// "null" options leave v unchanged.
func DecodeOptions(raw []byte, v any) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decoding options: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("decoding options: trailing data after the options object")
	}
	return nil
}

// HMACOptions are the options of the generic "hmac" provider (SPEC §4).
type HMACOptions struct {
	Header          string `json:"header"`
	Algorithm       string `json:"algorithm"`
	Encoding        string `json:"encoding"`
	Prefix          string `json:"prefix"`
	Signed          string `json:"signed"`
	TimestampHeader string `json:"timestamp_header"`
	Tolerance       string `json:"tolerance"` // Go duration
	IDHeader        string `json:"id_header"`
	EventTypeHeader string `json:"event_type_header"`
	RoutePath       string `json:"route_path"`
	RouteField      string `json:"route_field"`
}

// DecodeHMACOptions decodes raw strictly (see DecodeOptions).
func DecodeHMACOptions(raw []byte) (HMACOptions, error) {
	var o HMACOptions
	if err := DecodeOptions(raw, &o); err != nil {
		return HMACOptions{}, fmt.Errorf("matchers: hmac: %w", err)
	}
	return o, nil
}

// Generic is a compiled generic-hmac integration: the matcher and what
// routing needs.
type Generic struct {
	HMAC            *HMAC
	IDHeader        string // delivery id header, "" if none
	EventTypeHeader string // event type header, "" if none
	Route           Path   // zero when the options set no route_path
	RouteField      string // connection config field Route's value is matched with
}

// Config returns the HMACConfig o describes. The timestamp is in Unix
// seconds; an empty tolerance means DefaultTolerance.
func (o HMACOptions) Config() (HMACConfig, error) {
	cfg := HMACConfig{
		Header: o.Header, Algorithm: Algorithm(o.Algorithm), Encoding: Encoding(o.Encoding),
		Prefix: o.Prefix, Signed: o.Signed, TimestampHeader: o.TimestampHeader,
		IDHeader: o.IDHeader,
	}
	if o.Tolerance != "" && o.TimestampHeader == "" {
		return HMACConfig{}, errors.New("matchers: hmac: tolerance needs timestamp_header")
	}
	if o.Tolerance != "" {
		d, err := time.ParseDuration(o.Tolerance)
		if err != nil {
			return HMACConfig{}, fmt.Errorf("matchers: hmac: tolerance: %w", err)
		}
		if d <= 0 {
			return HMACConfig{}, fmt.Errorf("matchers: hmac: tolerance %s must be positive", d)
		}
		cfg.Tolerance = d
	}
	return cfg, nil
}

// Compile validates o and compiles it with the integration's secrets.
func (o HMACOptions) Compile(secret, previous []byte) (*Generic, error) {
	cfg, err := o.Config()
	if err != nil {
		return nil, err
	}
	if (o.RoutePath == "") != (o.RouteField == "") {
		return nil, errors.New("matchers: hmac: route_path and route_field go together")
	}
	g := &Generic{IDHeader: o.IDHeader, EventTypeHeader: o.EventTypeHeader, RouteField: o.RouteField}
	if o.RoutePath != "" {
		if g.Route, err = CompilePath(o.RoutePath); err != nil {
			return nil, err
		}
	}
	if g.HMAC, err = CompileHMAC(cfg, secret, previous); err != nil {
		return nil, err
	}
	return g, nil
}

// Compile decodes raw generic-hmac options strictly and compiles them with
// the secrets: the whole of the "hmac" provider's Provision.
func Compile(raw, secret, previous []byte) (*Generic, error) {
	o, err := DecodeHMACOptions(raw)
	if err != nil {
		return nil, err
	}
	return o.Compile(secret, previous)
}
