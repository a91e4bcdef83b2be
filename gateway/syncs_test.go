package gateway

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/edgehook/edgehook/config"
	"github.com/edgehook/edgehook/delivery"
	"github.com/edgehook/edgehook/delivery/spool"
)

// Each matched connection gets a runner delivery per subscribed sync,
// with its own part; an unmatched event gets none; no allocation once
// the pooled slices have grown.
func TestAddTargetsWithRunners(t *testing.T) {
	env := &config.Env{Name: "prod", URLs: []string{"https://a.example/h", "https://b.example/h"}}
	syncs := []config.Sync{
		{Name: "issues", Model: "Issue", WebhookSubscriptions: []string{"issues"}, RunnerURL: "https://r.example/issues"},
		{Name: "pushes", Model: "Push", WebhookSubscriptions: []string{"push"}, RunnerURL: "https://r.example/pushes"},
		{Name: "all", Model: "Any", WebhookSubscriptions: []string{"*"}, RunnerURL: "https://r.example/all"},
	}
	j := &job{}
	fill := func(conns ...*config.Conn) {
		j.reset()
		j.rt.Payload = []byte(`[{"k":1},{"k":2}]`)
		j.rt.EventType = []byte("issues")
		for i, c := range conns {
			j.conns = append(j.conns, c)
			j.keyOf = append(j.keyOf, i)
			j.rt.Keys = append(j.rt.Keys, []byte(c.ID))
			j.rt.Parts = append(j.rt.Parts, []byte(`{"k":`+c.ID+`}`))
		}
		j.addTargets(env, syncs)
	}
	fill(&config.Conn{ID: "1"}, &config.Conn{ID: "2", URLOverride: "https://own.example/h"})
	fw := func(conn, url string, part int) delivery.Target {
		return delivery.Target{ConnectionID: conn, URL: url, Part: part}
	}
	run := func(conn string, part int, s config.Sync) delivery.Target {
		return delivery.Target{Kind: spool.KindRunner, ConnectionID: conn, URL: s.RunnerURL, Part: part, SyncName: s.Name, Model: s.Model}
	}
	want := []delivery.Target{
		run("1", 0, syncs[0]), run("1", 0, syncs[2]), fw("1", env.URLs[0], 0), fw("1", env.URLs[1], 0),
		run("2", 1, syncs[0]), run("2", 1, syncs[2]), fw("2", "https://own.example/h", 1),
	}
	if !reflect.DeepEqual(j.targets, want) {
		t.Fatalf("targets\n got %+v\nwant %+v", j.targets, want)
	}
	fill()
	if want := []delivery.Target{fw("", env.URLs[0], 0), fw("", env.URLs[1], 0)}; !reflect.DeepEqual(j.targets, want) {
		t.Fatalf("unmatched targets %+v, want forwards only", j.targets)
	}
	if raceEnabled {
		return
	}
	fill(&config.Conn{ID: "1"}, &config.Conn{ID: "2"})
	if n := testing.AllocsPerRun(100, func() {
		clear(j.targets)
		j.targets = j.targets[:0]
		j.parts = j.parts[:0]
		j.addTargets(env, syncs)
	}); n != 0 {
		t.Fatalf("addTargets with runners allocates %v times", n)
	}
}

func TestParseSyncNotification(t *testing.T) {
	ok := map[string]string{ // posted → delivered
		` {"connectionId":"c","providerConfigKey":"p","syncName":"s","model":"M","syncType":"WEBHOOK","success":true}`:                                                                           ` {"from":"nango","connectionId":"c","providerConfigKey":"p","syncName":"s","model":"M","syncType":"WEBHOOK","success":true}`,
		"{\n \"connectionId\":\"c\",\"providerConfigKey\":\"p\",\"syncName\":\"s\",\"model\":\"M\",\"syncType\":\"INITIAL\",\"success\":false,\"error\":{\"type\":\"t\",\"description\":\"d\"}}": "{\"from\":\"nango\",\n \"connectionId\":\"c\",\"providerConfigKey\":\"p\",\"syncName\":\"s\",\"model\":\"M\",\"syncType\":\"INITIAL\",\"success\":false,\"error\":{\"type\":\"t\",\"description\":\"d\"}}",
		`{"from":"x","connectionId":"c","providerConfigKey":"p","syncName":"s","model":"M","syncType":"INCREMENTAL","success":true,"responseResults":{}}`:                                        `{"from":"x","connectionId":"c","providerConfigKey":"p","syncName":"s","model":"M","syncType":"INCREMENTAL","success":true,"responseResults":{}}`,
	}
	for in, want := range ok {
		n, err := parseSyncNotification([]byte(in))
		if err != nil || string(n.Body) != want || n.ConnectionID != "c" || n.ProviderConfigKey != "p" {
			t.Errorf("parseSyncNotification(%s) = %+v, %v", in, n, err)
		}
	}
	for _, in := range []string{
		``, `null`, `{}`, `"x"`,
		`{"connectionId":"c","providerConfigKey":"p","syncName":"s","model":"M","syncType":"WEBHOOK"}`,
		`{"connectionId":"c","providerConfigKey":"p","syncName":"s","model":"M","syncType":"WEBHOOK","success":null}`,
		`{"connectionId":"c","providerConfigKey":"p","syncName":"s","model":"M","syncType":"WEBHOOK","success":true,"startedAt":"2026-01-01T00:00:00Z"}`,
		`{"connectionId":"c","providerConfigKey":"p","syncName":"s","model":"M","syncType":"WEBHOOK","success":false,"error":{"type":"t","description":"d","code":1}}`,
		`{"connectionId":"c","providerConfigKey":"p","syncName":"s","model":"M","syncType":"WEBHOOK","success":false,"error":null}`,
	} {
		if n, err := parseSyncNotification([]byte(in)); err == nil {
			t.Errorf("parseSyncNotification(%s) = %+v, want an error", in, n)
		}
	}
}

// syncSeed is a valid posted notification, for the fuzz corpus and the
// benchmark.
const syncSeed = `{"type":"sync","connectionId":"conn-1","providerConfigKey":"github","syncName":"issues","model":"Issue",` +
	`"syncType":"INCREMENTAL","success":true,"responseResults":{"added":3,"updated":1,"deleted":0},"modifiedAfter":"2026-01-02T03:04:05.678Z"}`

// An accepted body is delivered as posted, "from" aside: the delivered
// JSON decodes to the posted fields, plus "from":"nango" when it had
// none, and the rest of its bytes are the posted ones.
func FuzzSyncNotification(f *testing.F) {
	f.Add([]byte(syncSeed))
	f.Add([]byte(strings.Replace(syncSeed, `"type":"sync",`, `"from":"n",`, 1)))
	f.Add([]byte(`{"connectionId":"c","providerConfigKey":"p","syncName":"s","model":"M","syncType":"INITIAL","success":false,` +
		`"error":{"type":"t","description":"d"},"startedAt":"2026-01-01T00:00:00Z","failedAt":"2026-01-01T00:00:01Z"}`))
	f.Add([]byte(`{"connectionId":"c","providerConfigKey":"p","syncName":"s","model":"M","syncType":"WEBHOOK","success":true,` +
		`"responseResults":{"M":{"added":1,"updated":2}},"queryTimeStamp":null,"operation":"x","syncVariant":"base"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := parseSyncNotification(b)
		if err != nil {
			return
		}
		var posted, got map[string]any
		if err := json.Unmarshal(b, &posted); err != nil {
			t.Fatalf("accepted %q, which is not a JSON object: %v", b, err)
		}
		if err := json.Unmarshal(n.Body, &got); err != nil {
			t.Fatalf("delivers %q, not JSON: %v", n.Body, err)
		}
		if _, had := posted["from"]; !had {
			posted["from"] = "nango"
			if i := bytes.IndexByte(b, '{'); !bytes.Equal(n.Body[:i+1], b[:i+1]) || !bytes.Equal(n.Body[i+1+len(`"from":"nango",`):], b[i+1:]) {
				t.Fatalf("delivers %q for %q: bytes changed", n.Body, b)
			}
		} else if !bytes.Equal(n.Body, b) {
			t.Fatalf("delivers %q for %q, which had a from", n.Body, b)
		}
		if !reflect.DeepEqual(posted, got) {
			t.Fatalf("delivers %v for %v", got, posted)
		}
	})
}

func BenchmarkParseSyncNotification(b *testing.B) {
	body := []byte(syncSeed)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseSyncNotification(body); err != nil {
			b.Fatal(err)
		}
	}
}
