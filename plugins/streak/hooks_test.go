package streak

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/internal/fakestreak"
	"github.com/edgehook/edgehook/provider"
)

func TestProvisionHookOptions(t *testing.T) {
	tests := []struct {
		opts  string
		hooks bool
		ok    bool
	}{
		{``, false, true},
		{`{}`, false, true},
		{`{"pipeline_key":"p"}`, true, true},
		{`{"team_key":"t","events":["BOX_CREATE","BOX_EDITED"],"api_base_url":"https://streak.example/api/"}`, true, true},
		{`{"pipeline_key":"p","team_key":"t"}`, false, false},
		{`{"events":["BOX_EDITED"]}`, false, false},
		{`{"api_base_url":"https://x"}`, false, false},
		{`{"pipeline_key":"p","events":[]}`, false, false},
		{`{"pipeline_key":"p","events":[""]}`, false, false},
		{`{"pipeline_key":"p","api_base_url":"ftp://x"}`, false, false},
		{`{"pipeline_key":"p","api_base_url":"https://x/api?k=v"}`, false, false},
		{`{"pipeline_key":"p","api_base_url":"/api"}`, false, false},
		{`{"pipeline_key":"p","event":"BOX_EDITED"}`, false, false},
		{`{"pipeline_key":1}`, false, false},
	}
	for _, tt := range tests {
		inst, err := Provider{}.Provision(provider.Config{Options: json.RawMessage(tt.opts)})
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok %v", tt.opts, err, tt.ok)
			continue
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), "plugins/streak: ") {
				t.Errorf("%s: error %q lacks the package prefix", tt.opts, err)
			}
			continue
		}
		h := inst.(provider.Lifecycle).Hooks()
		if h.PostCreation != tt.hooks || h.PreDeletion != tt.hooks {
			t.Errorf("%s: Hooks = %+v, want hooks %v", tt.opts, h, tt.hooks)
		}
		if tt.hooks && (len(h.Fields) != 2 || h.Fields[0] != Field || h.Fields[1] != KeyField) {
			t.Errorf("%s: Fields = %q", tt.opts, h.Fields)
		}
	}
}

// hookInstance provisions a Streak integration against the fake API.
func hookInstance(t *testing.T, api *fakestreak.Server, opts string) *Instance {
	t.Helper()
	inst, err := Provider{}.Provision(provider.Config{Options: json.RawMessage(`{"api_base_url":"` + api.URL + `",` + opts + `}`)})
	if err != nil {
		t.Fatal(err)
	}
	return inst.(*Instance)
}

func hookCall(t *testing.T, in *Instance, hook string, config map[string]json.RawMessage) *provider.HookCall {
	t.Helper()
	conn := &provider.HookConn{Env: "prod", Integration: "streak", ID: "c1", Config: config,
		Credentials: map[string]json.RawMessage{"api_key": json.RawMessage(`"secret-key"`)}}
	state, err := in.PrepareHook(hook, conn)
	if err != nil {
		t.Fatal(err)
	}
	return &provider.HookCall{Hook: hook, Conn: conn, State: state, PublicURL: "https://edge.example", Client: &fasthttp.Client{}}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestHookRegisters(t *testing.T) {
	api := fakestreak.New(t)
	in := hookInstance(t, api, `"team_key":"team 1","events":["BOX_CREATE","BOX_EDITED"]`)
	call := hookCall(t, in, provider.PostConnectionCreation, nil)
	var st hookState
	if err := json.Unmarshal(call.State, &st); err != nil || !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(st.Token) {
		t.Fatalf("prepared state %s: %v", call.State, err)
	}
	api.FailEvent("BOX_EDITED")
	res, err := in.RunHook(ctxT(t), call)
	if err == nil || !strings.Contains(err.Error(), "BOX_EDITED") || strings.Contains(err.Error(), "secret-key") || strings.Contains(err.Error(), st.Token) {
		t.Fatalf("partial failure: %v", err)
	}
	if res.State == nil || res.Config != nil {
		t.Fatalf("partial failure result %+v: want the progress, no config", res)
	}
	api.FailEvent("")
	call.State = res.State
	res, err = in.RunHook(ctxT(t), call)
	if err != nil {
		t.Fatal(err)
	}
	creates := api.Creates()
	if len(creates) != 2 || creates[0].Event != "BOX_CREATE" || creates[1].Event != "BOX_EDITED" {
		t.Fatalf("registrations %+v: want each event once", creates)
	}
	for _, c := range creates {
		if c.Query != "teamKey=team+1" || c.Token != st.Token || c.TargetURL != "https://edge.example/webhook/prod/streak" || c.Auth != "Basic c2VjcmV0LWtleTo=" {
			t.Fatalf("registration %+v", c)
		}
	}
	if string(res.Config[Field]) != `"`+st.Token+`"` || string(res.Config[KeyField]) != `"wh-1,wh-2"` {
		t.Fatalf("config changes %s %s", res.Config[Field], res.Config[KeyField])
	}
}

func TestHookUnregisters(t *testing.T) {
	api := fakestreak.New(t)
	in := hookInstance(t, api, `"pipeline_key":"p"`)
	create := hookCall(t, in, provider.PostConnectionCreation, nil)
	res, err := in.RunHook(ctxT(t), create)
	if err != nil {
		t.Fatal(err)
	}
	del := hookCall(t, in, provider.PreConnectionDeletion, res.Config)
	if del.State != nil {
		t.Fatalf("deletion state %s", del.State)
	}
	api.SetDown(true)
	if _, err := in.RunHook(ctxT(t), del); err == nil || !strings.Contains(err.Error(), "Streak answered 503") {
		t.Fatalf("while down: %v", err)
	}
	api.SetDown(false)
	for range 2 { // the second run finds it gone: 404 counts as deleted
		if _, err := in.RunHook(ctxT(t), del); err != nil {
			t.Fatal(err)
		}
	}
	d := api.Deletes()
	if len(d) != 3 || d[1].Key != "wh-1" || d[1].Status != 200 || d[2].Status != 404 || len(api.Live()) != 0 {
		t.Fatalf("deletions %+v, live %v", d, api.Live())
	}
	// Nothing registered: nothing to delete.
	if _, err := in.RunHook(ctxT(t), hookCall(t, in, provider.PreConnectionDeletion, nil)); err != nil || len(api.Deletes()) != 3 {
		t.Fatalf("without keys: %v, %d deletions", err, len(api.Deletes()))
	}
}

func TestHookNeeds(t *testing.T) {
	api := fakestreak.New(t)
	in := hookInstance(t, api, `"pipeline_key":"p"`)
	call := hookCall(t, in, provider.PostConnectionCreation, nil)
	call.PublicURL = ""
	if _, err := in.RunHook(ctxT(t), call); err == nil || !strings.Contains(err.Error(), "--public-url is not set") {
		t.Fatalf("without a public URL: %v", err)
	}
	call = hookCall(t, in, provider.PostConnectionCreation, nil)
	call.Conn.Credentials = map[string]json.RawMessage{"token": json.RawMessage(`"x"`)}
	if _, err := in.RunHook(ctxT(t), call); err == nil || !strings.Contains(err.Error(), "api_key") {
		t.Fatalf("without api_key: %v", err)
	}
	if n := len(api.Creates()) + api.Refused(); n != 0 {
		t.Fatalf("Streak was called %d times", n)
	}
	plain, _ := Provider{}.Provision(provider.Config{})
	if _, err := plain.(*Instance).RunHook(ctxT(t), call); err == nil {
		t.Fatal("an integration without pipeline or team ran a hook")
	}
}

// BenchmarkHookRegister is one post-creation run against a local fake
// Streak: the registration request and its reply.
func BenchmarkHookRegister(b *testing.B) {
	api := fakestreak.New(b)
	inst, _ := Provider{}.Provision(provider.Config{Options: json.RawMessage(`{"pipeline_key":"p","api_base_url":"` + api.URL + `"}`)})
	in := inst.(*Instance)
	conn := &provider.HookConn{Env: "prod", Integration: "streak", ID: "c1",
		Credentials: map[string]json.RawMessage{"api_key": json.RawMessage(`"k"`)}}
	state, _ := in.PrepareHook(provider.PostConnectionCreation, conn)
	call := &provider.HookCall{Hook: provider.PostConnectionCreation, Conn: conn, State: state, PublicURL: "https://edge.example", Client: &fasthttp.Client{}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := in.RunHook(ctx, call); err != nil {
			b.Fatal(err)
		}
	}
}
