package twitch

import (
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgehook/edgehook/plugins/plugintest"
	"github.com/edgehook/edgehook/provider"
)

const (
	header   = "Twitch-Eventsub-Message-Signature"
	idHeader = "Twitch-Eventsub-Message-Id"
	tsHeader = "Twitch-Eventsub-Message-Timestamp"
	secret   = "twitch_secret_1234"
	msgID    = "befa7b53-d79d-478f-86b9-120f112b044e"
)

func sign(now time.Time, key string, body []byte) *fasthttp.Request {
	ts := now.UTC().Format(time.RFC3339Nano)
	return plugintest.Post(body, idHeader, msgID, tsHeader, ts,
		header, "sha256="+plugintest.Hex256(key, msgID, ts, string(body)),
		typeHeader, "notification", "Twitch-Eventsub-Message-Retry", "0",
		"Twitch-Eventsub-Subscription-Type", "stream.online", "Twitch-Eventsub-Subscription-Version", "1")
}

func suite(t testing.TB) plugintest.Case {
	return plugintest.Case{
		Provider:    Provider,
		Config:      provider.Config{Secret: secret, PreviousSecret: "twitch_old_secret"},
		Sign:        sign,
		Body:        plugintest.Testdata(t, "stream_online.json"),
		Field:       Field,
		Keys:        []string{"1337"},
		Header:      header,
		Signed:      true,
		Timestamped: true,
		Now:         time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC),
	}
}

func TestConformance(t *testing.T) { plugintest.Run(t, suite(t)) }

func TestNoHandshake(t *testing.T) { plugintest.NoHandshake(t, suite(t)) }

func TestDeliveries(t *testing.T) {
	vector := plugintest.Testdata(t, "channel_follow.json")
	const id, ts = "e76c6bd4-55c9-4987-8304-da1588d8988b", "2023-11-14T22:13:20.123456789Z"
	const sig = "sha256=7a4ed01ba7dffc31c307db45aeb3dd1fc0d5b8ced0fe8b76d4b2790c4009334a"
	at := func(d time.Duration) time.Time {
		return time.Date(2023, 11, 14, 22, 13, 20, 123456789, time.UTC).Add(d)
	}
	vh := func(kind string) []string {
		return []string{idHeader, id, tsHeader, ts, header, sig, typeHeader, kind, "Twitch-Eventsub-Subscription-Type", "channel.follow"}
	}
	verification := plugintest.Testdata(t, "verification.json")
	challenge := &provider.Reply{Status: 200, ContentType: "text/plain; charset=utf-8", Body: []byte("pogchamp-kappa-360noscope-vohiyo")}
	plugintest.CheckDeliveries(t, suite(t), []plugintest.Delivery{
		{Name: "documented vector", Body: vector, Header: vh("notification"), Now: at(time.Minute), Verify: true,
			EventType: "channel.follow", EventID: id},
		{Name: "vector at 10 minutes", Body: vector, Header: vh("notification"), Now: at(10 * time.Minute), Verify: true,
			EventType: "channel.follow", EventID: id},
		{Name: "vector past 10 minutes", Body: vector, Header: vh("notification"), Now: at(10*time.Minute + time.Millisecond)},
		{Name: "vector with another message id", Body: vector, Header: append(vh("notification"), idHeader, "x"), Now: at(0)},
		{Name: "verification", Body: verification, Signed: true, Header: []string{typeHeader, "webhook_callback_verification"}, Reply: challenge},
		{Name: "verification signed with the previous secret", Body: verification, Reply: challenge,
			Header: []string{idHeader, id, tsHeader, ts, typeHeader, "webhook_callback_verification",
				header, "sha256=" + plugintest.Hex256("twitch_old_secret", id, ts, string(verification))}, Now: at(0)},
		{Name: "verification, bad signature", Body: verification, Signed: true,
			Header: []string{typeHeader, "webhook_callback_verification", header, sig}},
		{Name: "verification, stale", Body: verification, Now: at(11 * time.Minute),
			Header: []string{idHeader, id, tsHeader, ts, typeHeader, "webhook_callback_verification",
				header, "sha256=" + plugintest.Hex256(secret, id, ts, string(verification))}},
		{Name: "verified verification without a challenge", Body: []byte(`{"subscription":{}}`), Signed: true,
			Header: []string{typeHeader, "webhook_callback_verification"}, Status: 400},
		{Name: "stream.online", Body: plugintest.Testdata(t, "stream_online.json"), Signed: true, Verify: true,
			Keys: []string{"1337"}, EventType: "stream.online", EventID: msgID},
		{Name: "revocation is forwarded", Body: plugintest.Testdata(t, "revocation.json"), Signed: true,
			Header: []string{typeHeader, "revocation", "Twitch-Eventsub-Subscription-Type", "channel.follow"},
			Verify: true, Keys: []string{"12826"}, EventType: "channel.follow", EventID: msgID},
		{Name: "not JSON", Body: []byte(`challenge`), Signed: true, Verify: true, Status: 400},
	})
}

func TestProvision(t *testing.T) {
	plugintest.CheckProvision(t, Provider, plugintest.PresetProvisions)
}

func seeds(t testing.TB) [][]byte {
	return plugintest.Seeds(t, "channel_follow.json", "stream_online.json", "verification.json", "revocation.json")
}

func FuzzVerify(f *testing.F) { plugintest.FuzzVerify(f, suite(f), seeds(f)) }

func FuzzRoute(f *testing.F) { plugintest.FuzzRoute(f, suite(f), seeds(f)) }
