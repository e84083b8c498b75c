package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzRequestBodies sends arbitrary bodies to the routes that decode one
// (except those that run commands: /shell, /command, /init) through the
// whole guarded handler: the answer is never a 5xx and nothing panics.
func FuzzRequestBodies(f *testing.F) {
	dir := f.TempDir()
	a, err := newApp(appConfig{Dir: dir, DataRoot: f.TempDir(), NoTitles: true,
		Env: func(k string) string { return map[string]string{"HOME": dir}[k] }})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() {
		a.Shutdown()
		if err := a.Close(); err != nil {
			f.Error(err)
		}
	})
	sess, err := a.Sessions().Create(f.Context(), "", "")
	if err != nil {
		f.Fatal(err)
	}
	var targets []string // "METHOD path"
	for _, rt := range a.Routes() {
		if !rt.Body || rt.Method == "GET" || strings.Contains(rt.Path, "/shell") || strings.Contains(rt.Path, "/command") ||
			strings.HasSuffix(rt.Path, "/init") || strings.HasPrefix(rt.Path, "/tui/") {
			continue
		}
		p := strings.ReplaceAll(rt.Path, ":id", sess.ID)
		p = strings.ReplaceAll(p, ":permissionID", "per_0000000000000000000000000")
		targets = append(targets, rt.Method+" "+p)
	}
	for _, s := range []string{`{}`, `{"title":"x"}`, `{"parts":[{"type":"text","text":"hi"}]}`, `{"parts":[{"type":"file","url":"file:///etc/passwd","mime":"text/plain"}]}`,
		`{"messageID":"../../x"}`, `{"type":"api","key":"k"}`, `{"response":"once"}`, `[]`, `null`, `"x"`, `{"a":` + strings.Repeat("[", 10000), "\x00"} {
		for i := range targets {
			f.Add(uint8(i), []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		target := targets[int(which)%len(targets)]
		method, path, _ := strings.Cut(target, " ")
		req := httptest.NewRequest(method, path, strings.NewReader(string(body)))
		req.Host = "127.0.0.1"
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		a.Handler().ServeHTTP(rec, req)
		if rec.Code == http.StatusForbidden && strings.Contains(rec.Body.String(), "host") {
			t.Fatal("the fuzz request never reached the route")
		}
		if rec.Code >= 500 && rec.Code != http.StatusNotImplemented {
			t.Fatalf("%s %q: %d %s", target, body, rec.Code, rec.Body.String())
		}
	})
}
