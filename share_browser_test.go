package main

import (
	"bytes"
	"context"
	"image/png"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"ocgo/provider/fakellm"
)

// chromiumPath finds Debian's chromium; without it the test skips, except
// in CI (CI=true), where .ci/run installs it and a skip would hide a gap.
func chromiumPath(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed; .ci/run installs it (apt-get install chromium)")
	}
	t.Skip("chromium is not installed (apt-get install chromium)")
	return ""
}

// TestSharePageInChromium opens a shared recorded session in headless
// Chromium: the page renders the conversation (checked in the DOM, with a
// screenshot), shows an answer appended while it is open, says so when the
// link is revoked, and makes no request beyond loopback.
func TestSharePageInChromium(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("starts a browser")
	}
	chrome := chromiumPath(t)
	h, fake, sid, _ := recordedSessionFake(t)
	shareURL := shareSession(t, h, sid)

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chrome), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true), chromedp.WindowSize(1000, 1400),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	defer cancelTimeout()

	var mu sync.Mutex
	var requests []string
	if err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			requests = append(requests, e.Request.URL)
		}
	}); err != nil {
		t.Fatal(err)
	}

	if err := chromedp.Do(ctx,
		chromedp.Navigate(shareURL),
		chromedp.WaitVisible(chromedp.CSS(`section.msg.assistant`)),
		chromedp.WaitVisible(chromedp.CSS(`#live.on`)),
	); err != nil {
		t.Fatal(err)
	}
	dom, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Add new.txt, bump the README", "create new.txt and bump the README", "I will create new.txt and update the README.",
		"Reasoning", "write", "bash", "README.md", "+1", "-hello", "+v2", "Reverted to message", "reverted", "Appended v3."} {
		if !strings.Contains(dom, s) {
			t.Errorf("the rendered page lacks %q", s)
		}
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	checkScreenshot(t, shot)

	// An answer appended while the page is open shows up without a reload
	// (the prompt also drops the reverted messages, as the next prompt does).
	fake.Push(fakellm.Turn{Text: []string{"A live answer, streamed while the page was open."}})
	h.call("POST", "/session/"+sid+"/message", textPrompt("a third prompt"), nil)
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.Search(`//div[contains(@class,"text")][contains(., "A live answer, streamed while the page was open.")]`))); err != nil {
		t.Fatal(err)
	}
	if dom, err = chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html"))); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dom, "a third prompt") || strings.Contains(dom, "Appended v3.") {
		t.Errorf("the live update is wrong:\n%.2000s", dom)
	}

	// Revoked: the open page says so at the next change; the link is 404.
	h.call("DELETE", "/session/"+sid+"/share", nil, nil)
	h.call("PATCH", "/session/"+sid, map[string]any{"title": "renamed after revoking"}, nil)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("title").textContent === "This share link was revoked"`,
		chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("the open page did not notice the revocation: %v", err)
	}
	resp, err := chromedp.RunResponse(ctx, chromedp.Navigate(shareURL))
	if err != nil {
		t.Fatal(err)
	}
	body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 404 || !strings.Contains(body, "NotFoundError") || strings.Contains(body, "renamed") {
		t.Errorf("the revoked link: status %d, body %q", resp.Status, body)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(requests) < 4 {
		t.Errorf("only %d requests seen: %v", len(requests), requests)
	}
	for _, r := range requests {
		u, err := url.Parse(r)
		if err != nil || u.Hostname() != "127.0.0.1" {
			t.Errorf("a request left loopback: %s", r)
		}
	}
}

// checkScreenshot decodes the PNG, checks that it is not blank, and keeps
// it in $OCGO_ARTIFACTS when set.
func checkScreenshot(t *testing.T, shot []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	b := img.Bounds()
	colours := map[[3]uint32]bool{}
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colours[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
		}
	}
	if b.Dx() < 500 || b.Dy() < 500 || len(colours) < 8 {
		t.Errorf("screenshot %v with %d colours looks blank", b, len(colours))
	}
	if dir := os.Getenv("OCGO_ARTIFACTS"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "share-page.png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
