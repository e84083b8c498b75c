package main

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// eventually polls cond until it holds (the watcher debounces for ~75 ms).
func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestFileRoutesThroughHTTP(t *testing.T) {
	h := newHarness(t, harnessOpts{noSSE: true})
	if err := os.MkdirAll(filepath.Join(h.dir, "src"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(h.dir, "src", "main.go"), []byte("package main\n\nfunc Hello() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(h.dir, "README.md"), []byte("hello\nchanged\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("top secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(h.dir, "escape")); err != nil {
		t.Fatal(err)
	}

	var list []map[string]any
	if code := h.call("GET", "/file?path=", nil, &list); code != 200 || len(list) == 0 {
		t.Fatalf("list root: %d %v", code, list)
	}
	var content map[string]string
	h.call("GET", "/file?path=src/main.go", nil, &content)
	if content["type"] != "raw" || !strings.Contains(content["content"], "func Hello") {
		t.Errorf("read via /file: %v", content)
	}
	h.call("GET", "/file/content?path=README.md", nil, &content)
	if content["type"] != "patch" || !strings.Contains(content["content"], "+changed") {
		t.Errorf("modified file: %v", content)
	}
	// Traversal and symlink escapes: 403, same answer whether the target exists.
	for _, p := range []string{"../../etc/passwd", "/etc/passwd", "..%2F..%2Fetc%2Fpasswd", "escape/secret.txt", "escape/missing.txt", "../nope", ".git/config"} {
		for _, route := range []string{"/file?path=", "/file/content?path="} {
			q := p
			if !strings.Contains(p, "%") {
				q = url.QueryEscape(p)
			}
			var e map[string]any
			code := h.call("GET", route+q, nil, &e)
			if code != 403 || strings.Contains(e["data"].(map[string]any)["message"].(string), "/") {
				t.Errorf("%s%s: %d %v", route, p, code, e)
			}
		}
	}
	var status []map[string]any
	eventually(t, func() bool {
		h.call("GET", "/file/status", nil, &status)
		for _, s := range status {
			if s["path"] == "README.md" && s["status"] == "modified" && s["added"] == float64(1) {
				return true
			}
		}
		return false
	})
	var files []string
	eventually(t, func() bool { h.call("GET", "/find/file?query=main", nil, &files); return len(files) > 0 })
	if len(files) == 0 || files[0] != "src/main.go" {
		t.Errorf("find/file: %v", files)
	}
	var matches []map[string]any
	h.call("GET", "/find?pattern="+url.QueryEscape("func Hel+o"), nil, &matches)
	if len(matches) != 1 || matches[0]["line_number"] != float64(3) {
		t.Errorf("find: %v", matches)
	}
	for _, inj := range []string{"--pre=sh", "$(touch pwned)", "x; touch pwned2"} {
		if code := h.call("GET", "/find?pattern="+url.QueryEscape(inj), nil, &matches); code != 200 {
			t.Errorf("pattern %q: %d", inj, code)
		}
	}
	if _, err := os.Stat(filepath.Join(h.dir, "pwned")); err == nil {
		t.Errorf("injection ran")
	}
	var e map[string]any
	if code := h.call("GET", "/find?pattern="+url.QueryEscape("a(b"), nil, &e); code != 400 {
		t.Errorf("invalid regex: %d %v", code, e)
	}
	var syms []map[string]any
	h.call("GET", "/find/symbol?query=Hello", nil, &syms)
	if len(syms) == 0 || syms[0]["name"] != "Hello" {
		t.Errorf("symbols: %v", syms)
	}
}
