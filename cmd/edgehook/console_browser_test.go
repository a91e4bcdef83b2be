package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/edgehook/edgehook/internal/fakestreak"
	"github.com/edgehook/edgehook/internal/testsink"
)

// The console in a real browser: sign in, an accepted event's delivery,
// a dead letter's attempts, retry and see it delivered, find an event by
// its X-GitHub-Delivery, every page at phone width and by keyboard, and
// no secret in any page. Screenshots of each page go to the test's
// directory (EDGEHOOK_SCREENSHOTS keeps them; README "Console" shows
// two).
func TestConsoleInBrowser(t *testing.T) {
	ctx := newBrowser(t)
	g := startConsoleGateway(t)
	base := "http://" + g.admin + "/console/"
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	// waitText waits until the element sel shows want.
	waitText := func(sel, want string) {
		t.Helper()
		expr := fmt.Sprintf(`(function(){var e=document.querySelector(%q);return !!e && e.textContent.indexOf(%q)>=0})()`, sel, want)
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
			txt, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
			t.Fatalf("waiting for %q in %s: %v; the page shows:\n%s", want, sel, err, txt)
		}
	}
	eval := func(expr string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return v
	}
	noSecret := func(page string) {
		t.Helper()
		src := eval(`document.documentElement.outerHTML + JSON.stringify(sessionStorage.length)`)
		for _, s := range []string{obsEnvSecret, obsIntegSecret, "ghs_consoleSecretToken"} {
			if strings.Contains(src, s) {
				t.Fatalf("the %s page shows a secret", page)
			}
		}
	}

	// Without a token: the sign-in form; a wrong token is refused.
	do("open the console", chromedp.Navigate(base), chromedp.WaitVisible(chromedp.CSS("#signin-form")))
	if eval(`document.getElementById("view").hidden ? "hidden" : "shown"`) != "hidden" {
		t.Fatal("the console's pages are shown before signing in")
	}
	screenshot(t, ctx, "signin")
	do("a wrong token", chromedp.SendKeys(chromedp.CSS("#token"), "not-the-token"), chromedp.Click(chromedp.CSS("#signin-form button")))
	waitText("#signin-error", "refused")
	do("sign in", chromedp.SendKeys(chromedp.CSS("#token"), consoleToken), chromedp.Click(chromedp.CSS("#signin-form button")),
		chromedp.WaitVisible(chromedp.CSS("#overview .cards")))
	if got := eval(`sessionStorage.getItem("edgehook.token") + "|" + document.cookie + "|" + location.href`); got != consoleToken+"||"+base {
		t.Fatalf("the token is kept as %q; want in session storage only", got)
	}
	// Nothing has arrived: the empty state says what to send.
	waitText("#empty-state", "curl -i")
	screenshot(t, ctx, "overview-empty")

	// An accepted event's delivery.
	if st, b := g.sendGitHub(t, obsIntegSecret, `{"installation":{"id":1001}}`, "browser-delivery-1", ""); st != 200 {
		t.Fatalf("webhook: %d %s", st, b)
	}
	var recent listed
	eventually(t, 10*time.Second, "the event delivered", func() bool {
		g.get(t, "/v1/environments/prod/deliveries?status=delivered", &recent)
		return len(recent.Deliveries) == 1
	})
	delivered := recent.Deliveries[0]
	do("the deliveries page", chromedp.Navigate(base+"#/deliveries?env=prod&status=delivered"))
	waitText("#delivery-list", delivered.ID)
	waitText("#delivery-list", "delivered")
	screenshot(t, ctx, "deliveries")

	// A dead letter's attempts, and its retry.
	dead := g.deadLetters(t, 2002, 1, "browser-dead")[0]
	do("the dead letters", chromedp.Navigate(base+"#/deliveries?env=prod&status=dead"))
	waitText("#delivery-list", dead)
	do("open the dead letter", chromedp.Click(chromedp.CSS(`#delivery-list a[href*="`+dead+`"]`)))
	waitText("#detail-status", "dead")
	if n := eval(`String(document.querySelectorAll("#delivery-detail tr.attempt").length)`); n != "3" {
		t.Fatalf("the dead letter shows %s attempts; want 3", n)
	}
	waitText("#delivery-detail", "500")
	screenshot(t, ctx, "delivery-dead")
	do("retry it", chromedp.Click(chromedp.CSS("#retry")))
	waitText("#detail-status", "delivered")
	if n := eval(`String(document.querySelectorAll("#delivery-detail tr.attempt").length)`); n != "4" {
		t.Fatalf("the retried delivery shows %s attempts; want 4", n)
	}
	screenshot(t, ctx, "delivery-retried")

	// Find the first event by its X-GitHub-Delivery, using the keyboard
	// to reach the page.
	do("the find page by keyboard", chromedp.Focus(chromedp.CSS(`#nav a[data-page="find"]`)), chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(chromedp.CSS("#find-form")),
		chromedp.SetValue(chromedp.CSS("#q-by"), "provider"),
		chromedp.SendKeys(chromedp.CSS("#q-integration"), "github"),
		chromedp.SendKeys(chromedp.CSS("#q-text"), "browser-delivery-1"),
		chromedp.Focus(chromedp.CSS("#q-text")), chromedp.KeyEvent("\r"))
	waitText("#find-result", delivered.EventID)
	waitText("#find-result", delivered.ID)
	screenshot(t, ctx, "find")

	// The other pages; the overview now counts what happened.
	do("the destinations page", chromedp.Navigate(base+"#/destinations"))
	waitText("#destinations", "127.0.0.1")
	screenshot(t, ctx, "destinations")
	do("the configuration page", chromedp.Navigate(base+"#/config?env=prod"))
	waitText("#config", "c2")
	waitText("#config", "********")
	noSecret("configuration")
	screenshot(t, ctx, "configuration")
	do("the overview", chromedp.Navigate(base+"#/overview"))
	waitText("#overview", "accepted")
	noSecret("overview")
	screenshot(t, ctx, "overview")

	// Phone width: no page is wider than the screen.
	do("phone width", setViewport(390, 844, true))
	for _, page := range []string{"overview", "deliveries?env=prod&status=delivered", "destinations", "config?env=prod", "find"} {
		do(page, chromedp.Navigate(base+"#/"+page), chromedp.WaitVisible(chromedp.CSS("#view h1")), chromedp.Sleep(300*time.Millisecond))
		if w := eval(`String(document.documentElement.scrollWidth)`); w != "390" {
			t.Errorf("the %s page is %s px wide at a 390 px screen", page, w)
		}
		screenshot(t, ctx, "phone-"+strings.SplitN(page, "?", 2)[0])
	}

	// Signing out forgets the token and shows the form again.
	do("sign out", chromedp.Click(chromedp.CSS("#signout")), chromedp.WaitVisible(chromedp.CSS("#signin-form")))
	if eval(`String(sessionStorage.getItem("edgehook.token"))`) != "null" {
		t.Fatal("the token is kept after signing out")
	}
}

// The configuration page shows a lifecycle hook that failed and waits
// for its next attempt, and its retry button runs it now. The gateway has
// no admin token (its admin listener is loopback): the console opens
// without signing in.
func TestConsoleHookRetryInBrowser(t *testing.T) {
	ctx := newBrowser(t)
	g := startHookGateway(t, hookEtcd(t), "--public-url", hookPublicURL, "--hook-backoff", "1h")
	api, sink := fakestreak.New(t), testsink.New(t, nil)
	seedStreak(t, g.admin, sink, api)
	api.FailCreates(1)
	mustPut(t, g.admin, connPath+"c1", `{"credentials":{"api_key":"streak-key-secret"}}`)
	eventually(t, 10*time.Second, "the hook's first attempt failed", func() bool {
		h := getConn(t, g.admin, connPath+"c1").Hooks[createHook]
		return h.Status == "pending" && h.Attempts == 1
	})
	base := "http://" + g.admin + "/console/"
	page := func() string {
		t.Helper()
		txt, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById("config")||{}).textContent||""`))
		if err != nil {
			t.Fatal(err)
		}
		return txt
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"#/config?env=prod"), chromedp.WaitVisible(chromedp.CSS("#config .hook-retry"))); err != nil {
		t.Fatalf("the hook's retry button: %v", err)
	}
	if txt := page(); !strings.Contains(txt, "Streak answered 500") || strings.Contains(txt, "streak-key-secret") {
		t.Fatalf("the configuration page shows: %s", txt)
	}
	screenshot(t, ctx, "configuration-hook")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#config .hook-retry"))); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "the hook done after the retry, on the page", func() bool {
		return strings.Contains(page(), createHook+": done")
	})
	if n := len(api.Creates()); n != 1 {
		t.Fatalf("%d webhooks registered; want 1", n)
	}
}
