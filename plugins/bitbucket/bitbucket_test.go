package bitbucket

import (
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/plugins/plugintest"
	"github.com/edgehook/edgehook/provider"
)

const (
	header = "X-Hub-Signature"
	ws     = "{2f9c3a1e-8d7b-4c6a-b5e4-d3c2b1a09f8e}"
	reqID  = "b2a4f6e8-1c3d-4e5f-8a9b-0c1d2e3f4a5b"
)

func sign(_ time.Time, key string, body []byte) *fasthttp.Request {
	return plugintest.Post(body, header, "sha256="+plugintest.Hex256(key, string(body)),
		"X-Event-Key", "repo:push", "X-Request-UUID", reqID,
		"X-Hook-UUID", "{0e1d2c3b-4a59-4867-9f8e-7d6c5b4a3928}", "X-Attempt-Number", "1")
}

func suite(t testing.TB) plugintest.Case {
	return plugintest.Case{
		Provider: Provider,
		Config:   provider.Config{Secret: "bitbucket_secret", PreviousSecret: "bitbucket_old_secret"},
		Sign:     sign,
		Body:     plugintest.Testdata(t, "repo_push.json"),
		Field:    Field,
		Keys:     []string{ws},
		Header:   header,
		Signed:   true,
	}
}

func TestConformance(t *testing.T) { plugintest.Run(t, suite(t)) }

func TestDeliveries(t *testing.T) {
	vector := []byte(`{"repository":{"full_name":"team/repo"},"actor":{"display_name":"A"}}`)
	const sig = "sha256=5f364d6baa2c84201d620f3bad975e0c877833c3b4109f5e03a1c2071c412f63"
	plugintest.CheckDeliveries(t, suite(t), []plugintest.Delivery{
		{Name: "documented vector", Body: vector, Header: []string{header, sig, "X-Event-Key", "repo:push"},
			Verify: true, EventType: "repo:push"},
		{Name: "vector with a sha1 prefix", Body: vector, Header: []string{header, "sha1=" + sig[7:]}},
		{Name: "repo:push", Body: plugintest.Testdata(t, "repo_push.json"), Signed: true, Verify: true,
			Keys: []string{ws}, EventType: "repo:push", EventID: reqID},
		{Name: "pullrequest:created", Body: plugintest.Testdata(t, "pullrequest_created.json"), Signed: true,
			Header: []string{"X-Event-Key", "pullrequest:created"}, Verify: true,
			Keys: []string{"{5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9}"}, EventType: "pullrequest:created", EventID: reqID},
		{Name: "not JSON", Body: []byte(`push`), Signed: true, Verify: true, Status: 400},
	})
}

func TestProvision(t *testing.T) { plugintest.CheckProvision(t, Provider, plugintest.PresetProvisions) }

func seeds(t testing.TB) [][]byte {
	return plugintest.Seeds(t, "repo_push.json", "pullrequest_created.json")
}

func FuzzVerify(f *testing.F) { plugintest.FuzzVerify(f, suite(f), seeds(f)) }

func FuzzRoute(f *testing.F) { plugintest.FuzzRoute(f, suite(f), seeds(f)) }
