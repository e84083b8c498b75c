package routes

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	opencode "github.com/sst/opencode-sdk-go"
	"github.com/sst/opencode-sdk-go/packages/ssestream"

	"ocgo/bus"
	"ocgo/event"
	"ocgo/openapi/check"
	"ocgo/session"
	"ocgo/storage"
)

type fixture struct {
	srv  *Server
	http *httptest.Server
	bus  *bus.Bus
	dir  string
	data string
}

func newFixture(t *testing.T, mod func(*Options)) *fixture {
	t.Helper()
	dir, data := t.TempDir(), t.TempDir()
	store, err := storage.Open(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := store.Close(); err != nil {
			t.Error(err)
		}
	})
	b := bus.New()
	core := session.New(session.Options{Store: store, Bus: b, Cwd: dir, Root: dir, Version: "0.5.29"})
	opts := Options{
		Sessions: core, Bus: b,
		App:        func() App { return App{Path: AppPath{Cwd: dir, Root: dir, Data: data}} },
		TUITimeout: 300 * time.Millisecond, Heartbeat: 50 * time.Millisecond,
		Scrub: map[string]string{data: "<data>", dir: "<project>"},
	}
	if mod != nil {
		mod(&opts)
	}
	s := New(opts)
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() { b.Shutdown(); s.Close(); hs.Close() })
	return &fixture{srv: s, http: hs, bus: b, dir: dir, data: data}
}

type resp struct {
	status int
	body   string
	header http.Header
}

func (f *fixture) do(t *testing.T, method, path, ctype, body string, hdr map[string]string) resp {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, f.http.URL+path, rd)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, string(b), res.Header}
}

func errName(t *testing.T, body string) string {
	t.Helper()
	var e struct {
		Name string         `json:"name"`
		Data map[string]any `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Name == "" || e.Data["message"] == nil {
		t.Fatalf("not an opencode error body: %s", body)
	}
	return e.Name
}

func TestGuards(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.CORS = []string{"http://trusted.example"} })
	cases := []struct {
		name         string
		method, path string
		ctype, body  string
		hdr          map[string]string
		status       int
		errName      string
	}{
		{"loopback host", "GET", "/session", "", "", nil, 200, ""},
		{"localhost host", "GET", "/session", "", "", map[string]string{"Host": "localhost:4096"}, 200, ""},
		{"ipv6 loopback host", "GET", "/session", "", "", map[string]string{"Host": "[::1]:4096"}, 200, ""},
		{"rebinding host", "GET", "/session", "", "", map[string]string{"Host": "evil.example:4096"}, 403, "ForbiddenError"},
		{"ipv4-mapped loopback host", "GET", "/session", "", "", map[string]string{"Host": "[::ffff:127.0.0.1]:4096"}, 200, ""},
		{"octal loopback host", "GET", "/session", "", "", map[string]string{"Host": "0177.0.0.1:4096"}, 403, "ForbiddenError"},
		{"short loopback host", "GET", "/session", "", "", map[string]string{"Host": "127.1"}, 403, "ForbiddenError"},
		{"rebinding host on write", "POST", "/session", "application/json", "{}", map[string]string{"Host": "attacker.test"}, 403, "ForbiddenError"},
		{"text/plain body", "POST", "/session", "text/plain", "{}", nil, 415, "UnsupportedMediaTypeError"},
		{"form body to shell", "POST", "/session/ses_x/shell", "application/x-www-form-urlencoded", "agent=build&command=id", nil, 415, "UnsupportedMediaTypeError"},
		{"json with charset", "POST", "/session", "application/json; charset=utf-8", "{}", nil, 200, ""},
		{"no body no type", "POST", "/session", "", "", nil, 200, ""},
		{"cross-site write", "POST", "/session", "application/json", "{}", map[string]string{"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}, 403, "ForbiddenError"},
		{"cross-origin write without fetch metadata", "POST", "/session", "application/json", "{}", map[string]string{"Origin": "http://evil.example"}, 403, "ForbiddenError"},
		{"trusted origin write", "POST", "/session", "application/json", "{}", map[string]string{"Origin": "http://trusted.example", "Sec-Fetch-Site": "cross-site"}, 200, ""},
		{"cross-origin read gets no CORS grant", "GET", "/session", "", "", map[string]string{"Origin": "http://evil.example"}, 200, ""},
		{"body too large", "POST", "/log", "application/json", `{"service":"x","level":"info","message":"` + strings.Repeat("a", 2<<20) + `"}`, nil, 413, "PayloadTooLargeError"},
		{"malformed json", "POST", "/session", "application/json", "{", nil, 400, "ValidationError"},
		{"unknown route", "GET", "/nope", "", "", nil, 404, "NotFoundError"},
		{"wrong method", "PUT", "/session", "", "", nil, 405, "MethodNotAllowedError"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := f.do(t, c.method, c.path, c.ctype, c.body, c.hdr)
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
			}
			if c.errName != "" && errName(t, r.body) != c.errName {
				t.Errorf("error name in %s, want %s", r.body, c.errName)
			}
			if c.hdr["Origin"] == "http://evil.example" && r.header.Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("CORS granted to an untrusted origin")
			}
		})
	}
}

// TestStrictOrigin is checklist B9: with StrictOrigin (--strict-origin)
// any request carrying Origin or Referer is refused, whatever the origin,
// the method or the route (event stream and preflight included), while
// clients that send neither (the TUI, the SDKs, curl) are served.
func TestStrictOrigin(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.StrictOrigin = true; o.CORS = []string{"http://trusted.example"} })
	self := f.http.URL
	for _, c := range []struct {
		method, path string
		hdr          map[string]string
		status       int
	}{
		{"GET", "/session", nil, 200},
		{"POST", "/session", nil, 200},
		{"GET", "/session", map[string]string{"Origin": "http://evil.example"}, 403},
		{"GET", "/session", map[string]string{"Origin": self, "Sec-Fetch-Site": "same-origin"}, 403},
		{"GET", "/session", map[string]string{"Origin": "http://trusted.example"}, 403},
		{"POST", "/session", map[string]string{"Origin": "http://trusted.example", "Sec-Fetch-Site": "cross-site"}, 403},
		{"GET", "/config", map[string]string{"Referer": self + "/"}, 403},
		{"GET", "/event", map[string]string{"Origin": "null"}, 403},
		{"OPTIONS", "/session", map[string]string{"Origin": "http://trusted.example", "Access-Control-Request-Method": "POST"}, 403},
	} {
		ctype, body := "", ""
		if c.method == "POST" {
			ctype, body = "application/json", "{}"
		}
		r := f.do(t, c.method, c.path, ctype, body, c.hdr)
		if r.status != c.status || (c.status == 403 && errName(t, r.body) != "ForbiddenError") {
			t.Errorf("%s %s %v: %d %s, want %d", c.method, c.path, c.hdr, r.status, r.body, c.status)
		}
		if c.status == 403 && r.header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%s %s %v: CORS granted in strict mode", c.method, c.path, c.hdr)
		}
	}
	// Without strict mode the same trusted origin is served (the default).
	g := newFixture(t, func(o *Options) { o.CORS = []string{"http://trusted.example"} })
	if r := g.do(t, "GET", "/session", "", "", map[string]string{"Origin": "http://trusted.example"}); r.status != 200 {
		t.Errorf("default mode refused a trusted origin: %d", r.status)
	}
}

func TestBasicAuth(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.Password = "s3cret" })
	if r := f.do(t, "GET", "/session", "", "", nil); r.status != 401 || r.header.Get("WWW-Authenticate") == "" {
		t.Fatalf("no credentials: %d %v", r.status, r.header)
	}
	req, _ := http.NewRequest("GET", f.http.URL+"/session", nil)
	req.SetBasicAuth("opencode", "wrong")
	if res, _ := http.DefaultClient.Do(req); res.StatusCode != 401 {
		t.Fatalf("wrong password: %d", res.StatusCode)
	}
	req.SetBasicAuth("opencode", "s3cret")
	if res, _ := http.DefaultClient.Do(req); res.StatusCode != 200 {
		t.Fatalf("right password: %d", res.StatusCode)
	}
}

// TestDiskErrorsAnswerWithoutPaths: a write the disk refused is 507
// StorageFullError when it is full (whoever wrote: the store, auth.json,
// snapshots) and 500 StorageError for a failed store write, naming the
// system error and never the file.
func TestDiskErrorsAnswerWithoutPaths(t *testing.T) {
	s := New(Options{Scrub: map[string]string{"/home/me": "~"}})
	for _, c := range []struct {
		err    error
		status int
		name   string
		msg    string
	}{
		{&fs.PathError{Op: "open", Path: "/home/me/.local/share/opencode/auth.json.123.tmp", Err: syscall.ENOSPC}, 507, "StorageFullError", "could not save to disk: no space left on device"},
		{fmt.Errorf("write part prt_1: %w: %w", storage.ErrWrite, &fs.PathError{Op: "sync", Path: "/srv/data/x.json", Err: syscall.EIO}), 500, "StorageError", "could not save to disk: input/output error"},
		{fmt.Errorf("%w: %w", storage.ErrWrite, &fs.PathError{Op: "write", Path: "/srv/data/x.json", Err: syscall.EDQUOT}), 507, "StorageFullError", "could not save to disk: disk quota exceeded"},
	} {
		ae := s.mapError(c.err)
		if ae.Status != c.status || ae.Name != c.name || ae.Data["message"] != c.msg {
			t.Errorf("%v: %d %s %v, want %d %s %q", c.err, ae.Status, ae.Name, ae.Data, c.status, c.name, c.msg)
		}
	}
}

func TestMissingSessionIs404WithoutPaths(t *testing.T) {
	f := newFixture(t, nil)
	for _, p := range []string{"/session/ses_doesnotexist", "/session/doesnotexist", "/session/ses_nope/message", "/session/ses_nope/children", "/session/..%2F..%2Fetc/message"} {
		r := f.do(t, "GET", p, "", "", nil)
		if r.status != 404 || errName(t, r.body) != "NotFoundError" {
			t.Errorf("%s: %d %s", p, r.status, r.body)
		}
		if strings.Contains(r.body, f.data) || strings.Contains(r.body, "/") && strings.Contains(r.body, "storage") {
			t.Errorf("%s leaks a path: %s", p, r.body)
		}
	}
	if r := f.do(t, "DELETE", "/session/ses_nope", "", "", nil); r.status != 404 {
		t.Errorf("delete missing: %d", r.status)
	}
	if r := f.do(t, "POST", "/session/ses_nope/shell", "application/json", `{"agent":"build","command":"touch pwned"}`, nil); r.status != 404 {
		t.Errorf("shell on missing session: %d %s", r.status, r.body)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "pwned")); err == nil {
		t.Errorf("shell ran for a missing session")
	}
}

func TestSessionLifecycleOverHTTP(t *testing.T) {
	f := newFixture(t, nil)
	r := f.do(t, "POST", "/session", "application/json", `{"title":"first"}`, nil)
	var s storage.Session
	if err := json.Unmarshal([]byte(r.body), &s); err != nil {
		t.Fatal(err)
	}
	if r.status != 200 || s.Title != "first" || !strings.HasPrefix(s.ID, "ses_") {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	r = f.do(t, "POST", "/session", "application/json", `{"parentID":"`+s.ID+`"}`, nil)
	var child storage.Session
	if err := json.Unmarshal([]byte(r.body), &child); err != nil {
		t.Fatal(err)
	}
	if child.ParentID != s.ID || !strings.HasPrefix(child.Title, "Child session - ") {
		t.Fatalf("child: %s", r.body)
	}
	if r := f.do(t, "POST", "/session", "application/json", `{"parentID":"ses_missing"}`, nil); r.status != 404 {
		t.Errorf("child of a missing parent: %d", r.status)
	}
	if r := f.do(t, "PATCH", "/session/"+s.ID, "application/json", `{"title":"renamed"}`, nil); !strings.Contains(r.body, `"renamed"`) {
		t.Errorf("patch: %s", r.body)
	}
	if r := f.do(t, "PATCH", "/session/"+s.ID, "application/json", `{"title":""}`, nil); r.status != 400 || !strings.Contains(r.body, `"field":"title"`) {
		t.Errorf("empty title: %d %s", r.status, r.body)
	}
	if r := f.do(t, "GET", "/session/"+s.ID+"/children", "", "", nil); !strings.Contains(r.body, child.ID) {
		t.Errorf("children: %s", r.body)
	}
	if r := f.do(t, "POST", "/session/"+s.ID+"/shell", "application/json", `{"agent":"build"}`, nil); r.status != 400 || !strings.Contains(r.body, "command") {
		t.Errorf("shell without command: %d %s", r.status, r.body)
	}
	r = f.do(t, "POST", "/session/"+s.ID+"/shell", "application/json", `{"agent":"build","command":"echo out; echo err >&2; exit 3"}`, nil)
	var wp storage.WithParts
	if err := json.Unmarshal([]byte(r.body), &wp); err != nil {
		t.Fatal(err)
	}
	if r.status != 200 || len(wp.Parts) != 1 || wp.Parts[0].State.Output != "out\nerr\n" || wp.Parts[0].State.Metadata["exit"] != float64(3) {
		t.Fatalf("shell: %d %s", r.status, r.body)
	}
	if r := f.do(t, "GET", "/session/"+s.ID+"/message", "", "", nil); strings.Count(r.body, `"role"`) != 2 {
		t.Errorf("messages after shell: %s", r.body)
	}
	if r := f.do(t, "GET", "/session/"+s.ID+"/message/"+wp.Info.ID, "", "", nil); !strings.Contains(r.body, `"exit":3`) {
		t.Errorf("message: %s", r.body)
	}
	if r := f.do(t, "DELETE", "/session/"+s.ID, "", "", nil); r.body != "true" {
		t.Fatalf("delete: %s", r.body)
	}
	if r := f.do(t, "GET", "/session/"+child.ID, "", "", nil); r.status != 404 {
		t.Errorf("child survived its parent: %d", r.status)
	}
	if parts, _ := filepath.Glob(filepath.Join(f.data, "storage", "session", "part", "*")); len(parts) != 0 {
		t.Errorf("part files left behind: %v", parts)
	}
}

func TestShellWhileBusyIs409AndAbortKills(t *testing.T) {
	f := newFixture(t, nil)
	var s storage.Session
	if err := json.Unmarshal([]byte(f.do(t, "POST", "/session", "", "", nil).body), &s); err != nil {
		t.Fatal(err)
	}
	done := make(chan resp)
	go func() {
		done <- f.do(t, "POST", "/session/"+s.ID+"/shell", "application/json", `{"agent":"build","command":"sleep 30 & sleep 30; echo never"}`, nil)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for !f.srv.opts.Sessions.Busy(s.ID) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if r := f.do(t, "POST", "/session/"+s.ID+"/shell", "application/json", `{"agent":"build","command":"true"}`, nil); r.status != 409 || errName(t, r.body) != "BusyError" {
		t.Fatalf("second shell: %d %s", r.status, r.body)
	}
	if r := f.do(t, "POST", "/session/"+s.ID+"/abort", "", "", nil); r.body != "true" {
		t.Fatalf("abort: %s", r.body)
	}
	select {
	case r := <-done:
		if r.status != 200 || !strings.Contains(r.body, "MessageAbortedError") || strings.Contains(r.body, "never\n") {
			t.Fatalf("aborted shell: %d %s", r.status, r.body)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("shell did not return after abort")
	}
	if r := f.do(t, "POST", "/session/"+s.ID+"/abort", "", "", nil); r.body != "false" {
		t.Errorf("abort when idle: %s", r.body)
	}
}

// sse reads frames from /event until n data frames arrived.
func readSSE(t *testing.T, url string, n int, ready chan<- struct{}) []map[string]any {
	t.Helper()
	res, err := http.Get(url + "/event")
	if err != nil {
		t.Error(err)
		return nil
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("content type %q", ct)
	}
	var out []map[string]any
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() && len(out) < n {
		line := sc.Text()
		if !strings.HasPrefix(line, "data: ") {
			continue
		}
		var ev map[string]any
		if err := json.Unmarshal([]byte(line[6:]), &ev); err != nil {
			t.Errorf("bad frame %q", line)
		}
		if p, _ := ev["properties"].(map[string]any); ev["type"] == "storage.write" && p["key"] == heartbeatKey {
			continue // the keep-alive frame, sent whenever the ticker fires
		}
		out = append(out, ev)
		if len(out) == 1 && ready != nil {
			close(ready)
		}
	}
	return out
}

func TestEventStream(t *testing.T) {
	f := newFixture(t, nil)
	ready := make(chan struct{})
	var got []map[string]any
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); got = readSSE(t, f.http.URL, 3, ready) }()
	<-ready
	var s storage.Session
	if err := json.Unmarshal([]byte(f.do(t, "POST", "/session", "", "", nil).body), &s); err != nil {
		t.Fatal(err)
	}
	f.do(t, "DELETE", "/session/"+s.ID, "", "", nil)
	wg.Wait()
	want := []string{"server.connected", "session.updated", "session.deleted"}
	for i, w := range want {
		if i >= len(got) || got[i]["type"] != w {
			t.Fatalf("events %v, want types %v", got, want)
		}
	}
	info := got[1]["properties"].(map[string]any)["info"].(map[string]any)
	if info["id"] != s.ID {
		t.Errorf("session.updated carries %v", info)
	}
}

func TestEventStreamHeartbeatAndSlowClientCutOff(t *testing.T) {
	f := newFixture(t, nil)
	res, err := http.Get(f.http.URL + "/event")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	br := bufio.NewReader(res.Body)
	sawBeat := false
	for range 6 {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == `data: {"type":"storage.write","properties":{"key":"heartbeat","content":{}}}`+"\n" {
			if blank, _ := br.ReadString('\n'); blank != "\n" {
				t.Fatalf("heartbeat frame not ended by a blank line: %q", blank)
			}
			sawBeat = true
			break
		}
	}
	if !sawBeat {
		t.Fatal("no heartbeat frame")
	}
	// A subscriber that never reads is cut off; publishing never blocks.
	sub := f.bus.Subscribe(4)
	start := time.Now()
	for range 100 {
		f.bus.Publish(event.ServerConnected{})
	}
	if time.Since(start) > time.Second || !sub.Dropped() {
		t.Fatalf("slow subscriber not cut off (dropped=%v)", sub.Dropped())
	}
	if _, ok := <-sub.C; !ok {
		t.Fatal("buffered events lost before the close")
	}
}

func TestTUIControlCorrelatesAndTimesOut(t *testing.T) {
	f := newFixture(t, nil)
	// No TUI attached: a bounded wait and a clear error.
	r := f.do(t, "POST", "/tui/open-help", "application/json", "{}", nil)
	if r.status != 504 || errName(t, r.body) != "TuiTimeoutError" {
		t.Fatalf("no TUI: %d %s", r.status, r.body)
	}
	// The expired request was withdrawn: the TUI sees the next one, not it.
	res := make(chan resp)
	go func() {
		res <- f.do(t, "POST", "/tui/append-prompt", "application/json", `{"text":"hello"}`, nil)
	}()
	next := f.do(t, "GET", "/tui/control/next", "", "", nil)
	if !strings.Contains(next.body, `"path":"/tui/append-prompt"`) || !strings.Contains(next.body, `"text":"hello"`) {
		t.Fatalf("next: %s", next.body)
	}
	f.do(t, "POST", "/tui/control/response", "application/json", `{"ok":"mine"}`, nil)
	if got := <-res; got.status != 200 || got.body != `{"ok":"mine"}` {
		t.Fatalf("caller got %d %s", got.status, got.body)
	}
	// Validation happens before queueing.
	if r := f.do(t, "POST", "/tui/show-toast", "application/json", `{"message":"m","variant":"bogus"}`, nil); r.status != 400 {
		t.Errorf("bad toast variant: %d", r.status)
	}
	if r := f.do(t, "POST", "/tui/append-prompt", "application/json", `{}`, nil); r.status != 400 {
		t.Errorf("append without text: %d", r.status)
	}
}

func TestLog(t *testing.T) {
	f := newFixture(t, nil)
	if r := f.do(t, "POST", "/log", "application/json", `{"service":"tui","level":"info","message":"hi"}`, nil); r.body != "true" {
		t.Errorf("log: %s", r.body)
	}
	if r := f.do(t, "POST", "/log", "application/json", `{"service":"tui","level":"loud","message":"hi"}`, nil); r.status != 400 || !strings.Contains(r.body, "level") {
		t.Errorf("bad level: %d %s", r.status, r.body)
	}
}

func TestOpenAPIDocumentValidatesRealResponses(t *testing.T) {
	f := newFixture(t, nil)
	r := f.do(t, "GET", "/doc", "", "", nil)
	if r.status != 200 {
		t.Fatalf("/doc: %d %s", r.status, r.body)
	}
	if err := check.Validate([]byte(r.body)); err != nil {
		t.Fatalf("document invalid: %v", err)
	}
	check, err := check.ResponseValidator([]byte(r.body))
	if err != nil {
		t.Fatal(err)
	}
	verify := func(method, path string, got resp) {
		t.Helper()
		if err := check(method, path, got.status, got.header, []byte(got.body)); err != nil {
			t.Errorf("%s %s (%d) does not match the document: %v\n%s", method, path, got.status, err, got.body)
		}
	}
	var s storage.Session
	created := f.do(t, "POST", "/session", "application/json", `{"title":"doc"}`, nil)
	if err := json.Unmarshal([]byte(created.body), &s); err != nil {
		t.Fatal(err)
	}
	verify("POST", "/session", created)
	verify("GET", "/session", f.do(t, "GET", "/session", "", "", nil))
	verify("GET", "/session/"+s.ID, f.do(t, "GET", "/session/"+s.ID, "", "", nil))
	verify("GET", "/session/ses_missing", f.do(t, "GET", "/session/ses_missing", "", "", nil))
	shell := f.do(t, "POST", "/session/"+s.ID+"/shell", "application/json", `{"agent":"build","command":"echo hi"}`, nil)
	verify("POST", "/session/"+s.ID+"/shell", shell)
	verify("GET", "/session/"+s.ID+"/message", f.do(t, "GET", "/session/"+s.ID+"/message", "", "", nil))
	verify("GET", "/app", f.do(t, "GET", "/app", "", "", nil))
	verify("POST", "/log", f.do(t, "POST", "/log", "application/json", `{"service":"x","level":"warn","message":"m"}`, nil))
	verify("POST", "/session/"+s.ID+"/revert", f.do(t, "POST", "/session/"+s.ID+"/revert", "application/json", `{}`, nil))
}

// The opencode TUI reads /event with the Stainless SSE decoder, which
// dispatches an event on every blank line and JSON-decodes its data into the
// Event union, then drops storage.write and hands everything else to the
// screen. The heartbeat must decode, be a storage.write, and leave the
// stream alive for the next event.
func TestEventStreamHeartbeatSurvivesStainlessDecoder(t *testing.T) {
	f := newFixture(t, nil)
	res, err := http.Get(f.http.URL + "/event")
	if err != nil {
		t.Fatal(err)
	}
	stream := ssestream.NewStream[opencode.EventListResponse](ssestream.NewDecoder(res), nil)
	defer stream.Close()
	if !stream.Next() || stream.Current().Type != opencode.EventListResponseTypeServerConnected {
		t.Fatalf("first event %+v, err %v", stream.Current(), stream.Err())
	}
	time.Sleep(4 * 50 * time.Millisecond) // several heartbeats
	f.bus.Publish(event.SessionIdle{SessionID: "ses_x"})
	beats := 0
	for stream.Next() {
		ev := stream.Current()
		if ev.Type == "storage.write" {
			beats++
			continue // what the TUI does with storage.write
		}
		if _, ok := ev.AsUnion().(opencode.EventListResponseEventSessionIdle); !ok {
			t.Fatalf("got %T %q, want session.idle", ev.AsUnion(), ev.Type)
		}
		break
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream ended after heartbeats: %v", err)
	}
	if beats == 0 {
		t.Fatal("no heartbeat reached the decoder")
	}
}

// nvimSSE is the SSE parser of NickvanDyke/opencode.nvim as it was for
// opencode 0.5 (lua/opencode/client.lua, handle_sse): every non-empty line,
// minus a leading "data: ", is appended to a buffer; a blank line decodes
// the buffer as JSON when it is not empty. Comment lines are not special.
// It returns the events up to and including the first of type until.
func nvimSSE(t *testing.T, r io.Reader, until string) []map[string]any {
	t.Helper()
	sc := bufio.NewScanner(r)
	var buf []string
	var out []map[string]any
	for sc.Scan() {
		line := sc.Text()
		if line != "" {
			buf = append(buf, strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
			continue
		}
		if len(buf) == 0 {
			continue
		}
		var ev map[string]any
		if err := json.Unmarshal([]byte(strings.Join(buf, "")), &ev); err != nil {
			t.Fatalf("opencode.nvim would report \"SSE JSON decode error: %s\"", strings.Join(buf, ""))
		}
		buf = nil
		out = append(out, ev)
		if ev["type"] == until {
			break
		}
	}
	return out
}

func TestEventStreamHeartbeatSurvivesNvimParser(t *testing.T) {
	f := newFixture(t, nil)
	res, err := http.Get(f.http.URL + "/event")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	go func() {
		time.Sleep(4 * 50 * time.Millisecond) // several heartbeats first
		f.bus.Publish(event.FileEdited{File: "/x/a.go"})
	}()
	var types []string
	for _, ev := range nvimSSE(t, res.Body, "file.edited") {
		types = append(types, ev["type"].(string))
	}
	got := strings.Join(types, " ")
	if !strings.HasPrefix(got, "server.connected storage.write") || !strings.HasSuffix(got, "file.edited") {
		t.Fatalf("events as opencode.nvim sees them: %s", got)
	}
}

// TestHostAllowedNames checks the Host allow-list on names an HTTP client
// may not send as written (Go's client drops an address's zone).
func TestHostAllowedNames(t *testing.T) {
	s := New(Options{AllowedHosts: []string{"box.lan"}})
	for host, want := range map[string]bool{
		"127.0.0.1:4096": true, "127.0.0.2": true, "[::1]:4096": true, "::1": true, "[::ffff:127.0.0.1]:80": true,
		"LOCALHOST": true, "localhost.:4096": true, "app.localhost": true, "box.lan:4096": true, "BOX.LAN": true,
		"[::1%lo]:4096": false, "[fe80::1%eth0]:4096": false, "0177.0.0.1": false, "127.1": false, "2130706433": false,
		"10.0.0.1": false, "evil.example": false, "localhost.evil.example": false, "": false,
	} {
		if got := s.hostAllowed(host); got != want {
			t.Errorf("hostAllowed(%q) = %v, want %v", host, got, want)
		}
	}
}

// TestJSONAnswersCarryTheirLength: a JSON answer, cached (GET /session) or
// encoded per request (an error), says its Content-Length, as the original
// does, instead of being sent in chunks.
func TestJSONAnswersCarryTheirLength(t *testing.T) {
	f := newFixture(t, nil)
	for i := range 40 { // a list longer than net/http's 2 KB chunking threshold
		if r := f.do(t, "POST", "/session", "application/json", fmt.Sprintf(`{"title":"session %d"}`, i), nil); r.status != 200 {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
	}
	for _, path := range []string{"/session", "/session/ses_missing"} {
		res, err := http.Get(f.http.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(res.Body)
		_ = res.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(res.TransferEncoding) != 0 || res.ContentLength != int64(len(body)) ||
			res.Header.Get("Content-Length") != strconv.Itoa(len(body)) {
			t.Errorf("GET %s: Transfer-Encoding %v, Content-Length %q, body %d bytes", path, res.TransferEncoding,
				res.Header.Get("Content-Length"), len(body))
		}
		if path == "/session" && (res.StatusCode != 200 || len(body) < 2048) {
			t.Errorf("GET /session: %d, %d bytes", res.StatusCode, len(body))
		}
		if res.Header.Get("Content-Type") != "application/json" || res.Header.Get("X-Content-Type-Options") != "nosniff" ||
			res.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: headers %v", path, res.Header)
		}
	}
}

// TestImportTakesDocumentsOverTheDefaultLimit: an export carries snapshot
// objects, so /session/import takes bodies up to the prompt limit, not the
// 1 MiB default.
func TestImportTakesDocumentsOverTheDefaultLimit(t *testing.T) {
	f := newFixture(t, nil)
	r := f.do(t, "POST", "/session", "application/json", `{"title":"big"}`, nil)
	if r.status != 200 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var s storage.Session
	if err := json.Unmarshal([]byte(r.body), &s); err != nil {
		t.Fatal(err)
	}
	r = f.do(t, "GET", "/session/"+s.ID+"/export", "", "", nil)
	if r.status != 200 {
		t.Fatalf("export: %d %s", r.status, r.body)
	}
	// A field the import does not read pads the document past 1 MiB.
	doc := `{"pad":"` + strings.Repeat("x", 3<<20/2) + `",` + strings.TrimPrefix(r.body, "{")
	if len(doc) <= defaultBodyLimit || len(doc) >= promptBodyLimit {
		t.Fatalf("document of %d bytes", len(doc))
	}
	r = f.do(t, "POST", "/session/import?newIDs=true", "application/json", doc, nil)
	if r.status != 200 || !strings.Contains(r.body, `"title":"big"`) {
		t.Fatalf("import of %d bytes: %d %.300s", len(doc), r.status, r.body)
	}
}
