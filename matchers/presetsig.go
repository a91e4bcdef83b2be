package matchers

import (
	"errors"
	"strconv"

	"github.com/edgehook/edgehook/provider"
)

// MaxNumbered is the largest Preset.Numbered: DocuSign allows up to 100
// active HMAC keys per account, one signature header each.
const MaxNumbered = 100

// compileSignatures builds in's matchers for the header shape of its
// preset: one header (the usual case), numbered headers each checked with
// every key (Numbered), or a primary and a secondary header each with its
// own key (SecondaryHeader).
func (in *PresetInstance) compileSignatures(secret, previous []byte) error {
	p := in.p
	cfg := p.Signature
	var err error
	switch {
	case p.Numbered != 0 && p.SecondaryHeader != "":
		return errors.New("matchers: preset: numbered and secondary headers are exclusive")
	case p.SecondaryHeader != "":
		if in.HMAC, err = CompileHMAC(cfg, secret, nil); err != nil || len(previous) == 0 {
			return err
		}
		cfg.Header = p.SecondaryHeader
		in.second, err = CompileHMAC(cfg, previous, nil)
		return err
	case p.Numbered != 0:
		if p.Numbered < 0 || p.Numbered > MaxNumbered {
			return errors.New("matchers: preset: numbered must be between 1 and " + strconv.Itoa(MaxNumbered))
		}
		if cfg.TimestampHeader != "" || cfg.TimestampKey != "" || cfg.IDHeader != "" {
			return errors.New("matchers: preset: numbered headers carry body signatures only (no timestamp or id)")
		}
		in.numbered = make([]string, p.Numbered)
		for i := range in.numbered {
			in.numbered[i] = cfg.Header + strconv.Itoa(i+1)
		}
	}
	in.HMAC, err = CompileHMAC(cfg, secret, previous)
	return err
}

// verify checks the signatures of r in the preset's header shape. An
// instance without secrets (armed by CompileCapture) verifies nothing.
func (in *PresetInstance) verify(r *provider.Request) (bool, error) {
	switch {
	case in.HMAC == nil:
		return false, nil
	case in.numbered != nil:
		return in.HMAC.matchNumbered(r, in.numbered), nil
	case in.second != nil:
		if ok, err := in.HMAC.Match(r); ok || err != nil {
			return ok, err
		}
		return in.second.Match(r)
	}
	return in.HMAC.Match(r)
}

// matchNumbered reports whether any of the headers names[0], names[1], …,
// up to the first one absent, carries a valid signature (one per header)
// made with one of m's secrets. m has no timestamp or id. It does not
// allocate.
func (m *HMAC) matchNumbered(r *provider.Request, names []string) bool {
	if len(r.Header(names[0])) == 0 {
		return false
	}
	h := m.pool.Get().(*hasher)
	m.sum(h, r, nil, nil)
	ok := false
	for _, name := range names {
		v := r.Header(name)
		if len(v) == 0 {
			break
		}
		if m.compare(h, v) {
			ok = true
		}
	}
	m.pool.Put(h)
	return ok
}
