package clerk

import (
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/plugins/plugintest"
	"github.com/edgehook/edgehook/provider"
)

const (
	header = "svix-signature"
	msgID  = "msg_2XQjAbqJ8K0mI1rZ3tVwXyZ1aBc"
)

func sign(now time.Time, secret string, body []byte) *fasthttp.Request {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		key = []byte(secret)
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	return plugintest.Post(body, "svix-id", msgID, "svix-timestamp", ts,
		header, "v1,"+plugintest.Base64256(string(key), msgID, ".", ts, ".", string(body)))
}

func suite(t testing.TB) plugintest.Case {
	return plugintest.Case{
		Provider:    Provider,
		Config:      provider.Config{Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", PreviousSecret: "whsec_cGxlYXNlIHJvdGF0ZSBtZSBzb29uIQ=="},
		Sign:        sign,
		Body:        plugintest.Testdata(t, "user_created.json"),
		Field:       Field,
		Keys:        []string{"ins_2g7np7Hrk0SN6kj5EDMLDaKNL0S"},
		Header:      header,
		Signed:      true,
		Timestamped: true,
	}
}

func TestConformance(t *testing.T) { plugintest.Run(t, suite(t)) }

func TestDeliveries(t *testing.T) {
	vector := []byte(`{"test": 2432232314}`)
	const id, ts = "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330"
	const sig = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	at := func(d time.Duration) time.Time { return time.Unix(1614265330, 0).Add(d) }
	hdr := func(sig string) []string { return []string{"svix-id", id, "svix-timestamp", ts, header, sig} }
	plugintest.CheckDeliveries(t, suite(t), []plugintest.Delivery{
		{Name: "published vector", Body: vector, Header: hdr(sig), Now: at(time.Second), Verify: true, EventID: id},
		{Name: "vector after a decoy", Body: vector, Header: hdr("v1,bm9wZQ== " + sig), Now: at(0), Verify: true, EventID: id},
		{Name: "vector 301 s late", Body: vector, Header: hdr(sig), Now: at(301 * time.Second)},
		{Name: "vector as v1a", Body: vector, Header: hdr("v1a," + sig[3:]), Now: at(0)},
		{Name: "vector under webhook-* names", Body: vector, Now: at(0),
			Header: []string{"webhook-id", id, "webhook-timestamp", ts, "webhook-signature", sig}},
		{Name: "user.created", Body: plugintest.Testdata(t, "user_created.json"), Signed: true, Verify: true,
			Keys: []string{"ins_2g7np7Hrk0SN6kj5EDMLDaKNL0S"}, EventType: "user.created", EventID: msgID},
		{Name: "session.created", Body: plugintest.Testdata(t, "session_created.json"), Signed: true, Verify: true,
			Keys: []string{"ins_2XQiz0wH6hwW2nJXzvZf0yJz3Yq"}, EventType: "session.created", EventID: msgID},
		{Name: "not JSON", Body: []byte(`type=user.created`), Signed: true, Verify: true, Status: 400},
	})
}

func TestProvision(t *testing.T) {
	plugintest.CheckProvision(t, Provider, append(plugintest.PresetProvisions,
		plugintest.Provisions{Name: "whsec secret", Config: provider.Config{Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, OK: true},
		plugintest.Provisions{Name: "secret not base64", Config: provider.Config{Secret: "whsec_not base64!"}},
		plugintest.Provisions{Name: "previous not base64", Config: provider.Config{Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", PreviousSecret: "whsec_%%"}},
	))
}

func seeds(t testing.TB) [][]byte {
	return plugintest.Seeds(t, "user_created.json", "session_created.json")
}

func FuzzVerify(f *testing.F) { plugintest.FuzzVerify(f, suite(f), seeds(f)) }

func FuzzRoute(f *testing.F) { plugintest.FuzzRoute(f, suite(f), seeds(f)) }
