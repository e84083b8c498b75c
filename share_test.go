package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"ocgo/storage"
)

// shareSession shares sid and returns its URL.
func shareSession(t *testing.T, h *harness, sid string) string {
	t.Helper()
	var s storage.Session
	if code := h.call("POST", "/session/"+sid+"/share", nil, &s); code != 200 || s.Share == nil {
		t.Fatalf("share: %d %+v", code, s)
	}
	return s.Share.URL
}

func TestShareLocalPage(t *testing.T) {
	h, sid, msgs := recordedSession(t)
	verify := docChecker(t, h)
	url := shareSession(t, h, sid)
	token := strings.TrimPrefix(url, h.srv.URL+"/share/")
	if !strings.HasPrefix(url, h.srv.URL+"/share/") || len(token) != 43 {
		t.Fatalf("share URL %q", url)
	}
	if again := shareSession(t, h, sid); again != url {
		t.Errorf("sharing twice changed the URL: %s", again)
	}
	path := "/share/" + token

	code, hdr, page := rawCall(t, h, "GET", path, "")
	csp := hdr.Get("Content-Security-Policy")
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") || !strings.Contains(string(page), "<script>") ||
		!strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'sha256-") || strings.Contains(csp, "unsafe") ||
		hdr.Get("X-Content-Type-Options") != "nosniff" || hdr.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("page: %d %v", code, hdr)
	}
	for _, ext := range []string{"http://", "https://", "//cdn", "src=\""} {
		if strings.Contains(string(page), ext) {
			t.Errorf("the page refers to %q", ext)
		}
	}

	code, hdr, body := rawCall(t, h, "GET", path+"/data", "")
	verify("GET", path+"/data", code, hdr, body)
	var d struct {
		Session  storage.Session
		Messages []storage.WithParts
		Patches  map[string]struct {
			Files []struct {
				File                 string
				Additions, Deletions int
			}
			Diff string
		}
	}
	if err := json.Unmarshal(body, &d); err != nil || code != 200 {
		t.Fatalf("data: %d %v %.300s", code, err, body)
	}
	if d.Session.ID != sid || d.Session.Share != nil || len(d.Messages) != 4 || len(d.Patches) != 3 || d.Session.Revert == nil {
		t.Errorf("data: session %+v, %d messages, %d patches", d.Session, len(d.Messages), len(d.Patches))
	}
	for _, m := range d.Messages {
		if len(m.Info.System) > 0 {
			t.Errorf("the share data carries the system prompt")
		}
	}
	var full []storage.WithParts
	h.call("GET", "/session/"+sid+"/message", nil, &full)
	if len(full[1].Info.System) == 0 || strings.Contains(string(body), full[1].Info.System[0][:40]) {
		t.Errorf("the system prompt check checks nothing, or the prompt leaked")
	}
	readme := d.Patches[msgs[1].Parts[len(msgs[1].Parts)-2].ID]
	found := false
	for _, p := range d.Patches {
		if strings.Contains(p.Diff, "-hello") && strings.Contains(p.Diff, "+v2") && len(p.Files) == 1 && p.Files[0].File == "README.md" && p.Files[0].Additions == 1 {
			found = true
		}
	}
	if !found {
		t.Errorf("no patch with the README diff: %+v", readme)
	}

	// The event stream tells of changes to this session only.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", h.srv.URL+path+"/event", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("event: %v %v", err, res)
	}
	defer res.Body.Close()
	frames := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			if line, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				frames <- line
			}
		}
		close(frames)
	}()
	if f := <-frames; f != `{"type":"server.connected"}` {
		t.Fatalf("first frame %q", f)
	}
	h.newSession() // another session: not forwarded
	h.call("PATCH", "/session/"+sid, map[string]any{"title": "renamed live"}, nil)
	select {
	case f := <-frames:
		if f != `{"type":"session.updated"}` {
			t.Errorf("frame %q", f)
		}
	case <-ctx.Done():
		t.Fatal("no frame for the shared session's change")
	}
	select {
	case f := <-frames:
		t.Errorf("unexpected frame %q (another session's event?)", f)
	case <-time.After(200 * time.Millisecond):
	}

	// Guards: a foreign Host is refused as for the API.
	hreq, _ := http.NewRequest("GET", h.srv.URL+path, nil)
	hreq.Host = "evil.example"
	if res, err := http.DefaultClient.Do(hreq); err != nil || res.StatusCode != 403 {
		t.Errorf("foreign Host: %v %v", err, res.StatusCode)
	}
	// A wrong token is 404, and so is everything after revoking.
	if code, _, _ := rawCall(t, h, "GET", "/share/"+strings.Repeat("A", 43), ""); code != 404 {
		t.Errorf("unknown token: %d", code)
	}
	var s storage.Session
	if code := h.call("DELETE", "/session/"+sid+"/share", nil, &s); code != 200 || s.Share != nil {
		t.Fatalf("unshare: %d %+v", code, s)
	}
	for _, p := range []string{path, path + "/data", path + "/event"} {
		if code, _, _ := rawCall(t, h, "GET", p, ""); code != 404 {
			t.Errorf("%s after revoking: %d", p, code)
		}
	}
	// The open stream ends at the next event of the session.
	h.call("PATCH", "/session/"+sid, map[string]any{"title": "after revoke"}, nil)
	select {
	case f, ok := <-frames:
		if ok {
			t.Errorf("frame after revoking: %q", f)
		}
	case <-ctx.Done():
		t.Error("the stream did not end after revoking")
	}
	if url2 := shareSession(t, h, sid); url2 == url {
		t.Errorf("sharing again reused the revoked token")
	}
}

func TestShareConfigModes(t *testing.T) {
	h := newHarness(t, harnessOpts{config: `{"share":"disabled"}`, noSSE: true})
	sid := h.newSession()
	code, _, body := rawCall(t, h, "POST", "/session/"+sid+"/share", "")
	if code != 400 || !strings.Contains(string(body), "Sharing is disabled in configuration") {
		t.Errorf("share disabled: %d %s", code, body)
	}
	auto := newHarness(t, harnessOpts{config: `{"share":"auto"}`, noSSE: true})
	var s storage.Session
	auto.call("POST", "/session", map[string]any{}, &s)
	if s.Share == nil || !strings.HasPrefix(s.Share.URL, auto.srv.URL+"/share/") {
		t.Fatalf("auto share: %+v", s)
	}
	if code, _, _ := rawCall(t, auto, "GET", strings.TrimPrefix(s.Share.URL, auto.srv.URL), ""); code != 200 {
		t.Errorf("auto-shared page: %d", code)
	}
	var child storage.Session
	auto.call("POST", "/session", map[string]any{"parentID": s.ID}, &child)
	if child.Share != nil {
		t.Errorf("a child session was shared: %+v", child.Share)
	}
}
