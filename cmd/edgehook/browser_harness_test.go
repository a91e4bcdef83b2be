package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The browser harness: headless Chromium from Debian's packages, driven
// through chromedp, for tests that look at pages the gateway serves.

// browserTimeout bounds a browser's whole life, from newBrowser on.
const browserTimeout = 90 * time.Second

// chromiumBin returns Debian's Chromium, installing the package when
// the test runs as root; it skips the test where neither works.
func chromiumBin(t *testing.T) string {
	t.Helper()
	return aptInstall(t, "chromium", 6*time.Minute, "/usr/bin/chromium", "chromium")
}

// newBrowser starts headless Chromium (a fresh profile, a 1280x900
// window) and returns the context of its first tab, for chromedp.Do and
// chromedp.Run. The browser is closed when the test ends, or after
// browserTimeout.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	bin := chromiumBin(t)
	out := new(syncBuffer) // Chromium's output and chromedp's messages, shown if the test fails
	logf := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	t.Cleanup(func() { // runs last, after the browser has exited
		if t.Failed() {
			t.Logf("chromium and chromedp output:\n%s", out)
		}
	})
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.NoSandbox, // the tests run as root, where the sandbox won't start
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.CombinedOutput(out),
	)
	ctx, cancelTimeout := context.WithTimeout(context.Background(), browserTimeout)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(logf), chromedp.WithErrorf(logf))
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc() // waits for the process, before t.TempDir's removal
		cancelTimeout()
	})
	start := time.Now()
	if err := chromedp.Do(bctx); err != nil { // starts the browser and opens the tab
		t.Fatalf("starting %s: %v", bin, err)
	}
	t.Logf("chromium started in %v", time.Since(start).Round(time.Millisecond))
	return bctx
}

// screenshotDirs holds each test's screenshot directory.
var screenshotDirs sync.Map // *testing.T → string

// screenshot saves a full-page PNG of ctx's tab as <name>.png in the
// test's directory under $EDGEHOOK_SCREENSHOTS (kept after the test), or
// in a t.TempDir() without it, and returns the file's path.
func screenshot(t *testing.T, ctx context.Context, name string) string {
	t.Helper()
	dir, ok := screenshotDirs.Load(t)
	if !ok {
		d := t.TempDir()
		if root := os.Getenv("EDGEHOOK_SCREENSHOTS"); root != "" {
			d = filepath.Join(root, t.Name())
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		dir, _ = screenshotDirs.LoadOrStore(t, d)
		t.Cleanup(func() { screenshotDirs.Delete(t) })
	}
	// chromedp captures PNG only at quality 100; below it is JPEG.
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(dir.(string), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", path)
	return path
}

// setViewport sizes the tab's viewport to w x h CSS pixels; mobile adds
// a phone's emulation (portrait, mobile layout, touch), as in
// setViewport(390, 844, true) for a phone-width check.
func setViewport(w, h int, mobile bool) chromedp.Action[chromedp.Void] {
	if !mobile {
		return chromedp.EmulateViewport(int64(w), int64(h))
	}
	return chromedp.EmulateViewport(int64(w), int64(h),
		chromedp.EmulatePortrait, chromedp.EmulateMobile, chromedp.EmulateTouch)
}
