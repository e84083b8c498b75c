package search

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func dirSnapshot(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	if err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		out = append(out, p)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGrep(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "proj")
	write(t, root, ".gitignore", "ignored/\n")
	write(t, root, "a.go", "package a\n\nfunc A() {}\n// --pre=sh here\nx := $(touch x); y\n")
	write(t, root, ".hidden/h.txt", "func hidden\n")
	write(t, root, "ignored/i.go", "func ignored\n")
	write(t, root, "bin.dat", "func\x00binary")
	write(t, root, "latin1.txt", "caf\xe9 func \xff end\nlast func")
	var many strings.Builder
	for i := range 25 {
		fmt.Fprintf(&many, "func f%d() {}\n", i)
	}
	write(t, root, "many.go", many.String())
	write(t, root, "sub/s.go", "func S() {}\n")
	svc := open(t, root, root)
	ctx := context.Background()

	before := dirSnapshot(t, base)
	for _, p := range []string{"--pre=sh", "$(touch x)", ";", "-e", "--files", "x := $(touch x); y", "a b"} {
		ms, err := svc.Grep(ctx, p, 0)
		if err != nil {
			t.Fatalf("Grep(%q): %v", p, err)
		}
		for _, m := range ms {
			if !strings.Contains(m.Lines.Text, p) && p != "$(touch x)" {
				t.Errorf("Grep(%q) matched %q", p, m.Lines.Text)
			}
		}
		switch p {
		case "--pre=sh", ";":
			if len(ms) != 1 || ms[0].Path.Text != "a.go" {
				t.Errorf("Grep(%q) = %+v, want the literal line in a.go", p, ms)
			}
		case "a b", "-e", "--files", "x := $(touch x); y": // "$(" is an anchor then a group
			if len(ms) != 0 {
				t.Errorf("Grep(%q) = %+v, want none", p, ms)
			}
		}
	}
	// "$(touch x)" is a regexp: "$" then a group; it cannot match mid-line.
	if after := dirSnapshot(t, base); !slices.Equal(before, after) {
		t.Fatalf("grep left a trace:\n%v\n%v", before, after)
	}

	ms, err := svc.Grep(ctx, "func", 0)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, m := range ms {
		count[m.Path.Text]++
	}
	want := map[string]int{".hidden/h.txt": 1, "a.go": 1, "latin1.txt": 2, "many.go": 10, "sub/s.go": 1}
	if fmt.Sprint(count) != fmt.Sprint(want) {
		t.Errorf("per-file counts %v, want %v", count, want)
	}
	b, err := json.Marshal(ms)
	if err != nil || !json.Valid(b) {
		t.Fatalf("json: %v", err)
	}
	for _, m := range ms {
		if m.Path.Text == "a.go" {
			wantM := Match{Path: Text{"a.go"}, Lines: Text{"func A() {}\n"}, LineNumber: 3, AbsoluteOffset: 11,
				Submatches: []Submatch{{Match: Text{"func"}, Start: 0, End: 4}}}
			if fmt.Sprint(m) != fmt.Sprint(wantM) {
				t.Errorf("a.go match %+v, want %+v", m, wantM)
			}
		}
		if m.Path.Text == "latin1.txt" {
			if m.LineNumber == 1 {
				if m.Lines.Text != "caf\uFFFD func \uFFFD end\n" || m.Submatches[0].Start != 7 || m.Lines.Text[m.Submatches[0].Start:m.Submatches[0].End] != "func" {
					t.Errorf("non-UTF-8 line: %+v", m)
				}
			} else if m.Lines.Text != "last func" || m.AbsoluteOffset != 16 || m.LineNumber != 2 {
				t.Errorf("last line without newline: %+v", m)
			}
		}
	}
	// Overall limit, regex without a literal, and errors.
	if ms, _ := svc.Grep(ctx, "func", 3); len(ms) != 3 {
		t.Errorf("limit 3 gave %d", len(ms))
	}
	ms, err = svc.Grep(ctx, `f(1|2)\d`, 0)
	if err != nil || len(ms) != 10 || ms[0].Lines.Text != "func f10() {}\n" || ms[0].Submatches[0].Match.Text != "f10" {
		t.Errorf("no-literal regex: %d %v", len(ms), err)
	}
	if ms, _ := svc.Grep(ctx, `(?i)FUNC A`, 0); len(ms) != 1 {
		t.Errorf("case-insensitive: %+v", ms)
	}
	_, err = svc.Grep(ctx, "func(", 0)
	if !errors.Is(err, ErrInvalidPattern) || !strings.Contains(err.Error(), "missing closing )") {
		t.Errorf("invalid pattern: %v", err)
	}
	// Cwd below the root: only files there, cwd-relative paths.
	svcSub := open(t, root, filepath.Join(root, "sub"))
	ms, err = svcSub.Grep(ctx, "func", 0)
	if err != nil || len(ms) != 1 || ms[0].Path.Text != "s.go" {
		t.Errorf("sub cwd grep: %+v %v", ms, err)
	}
}

func TestFindFiles(t *testing.T) {
	root := t.TempDir()
	// The file names of net/http at the recording, enough to reproduce the
	// recorded fzf rankings (find2_file_server.txt, find2_file_http.txt).
	names := []string{"server.go", "server_test.go", "httptest/server.go", "httptest/server_test.go", "clientserver_test.go",
		"http.go", "http_test.go", "httputil/dump.go", "httputil/persist.go", "httptest/httptest.go", "httptest/recorder.go",
		"httputil/httputil.go", "httputil/dump_test.go", "httptest/example_test.go", "cookie.go", "transport.go",
		"internal/chunked.go", "fs.go", "request.go", "cgi/host.go"}
	for _, n := range names {
		write(t, root, n, "x")
	}
	svc := open(t, root, root)
	ctx := context.Background()
	got, err := svc.FindFiles(ctx, "server", 10, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"server.go", "server_test.go", "httptest/server.go", "httptest/server_test.go", "clientserver_test.go"}
	if !slices.Equal(got, want) {
		t.Errorf("server:\n got %v\nwant %v", got, want)
	}
	got, _ = svc.FindFiles(ctx, "http", 10, false)
	if len(got) != 10 || got[0] != "http.go" || got[1] != "http_test.go" || got[2] != "httputil/dump.go" {
		t.Errorf("http: %v", got)
	}
	got, _ = svc.FindFiles(ctx, "ht srv", 10, false)
	if len(got) == 0 || got[0] != "httptest/server.go" {
		t.Errorf("two terms: %v", got)
	}
	got, _ = svc.FindFiles(ctx, "httpt", 3, true)
	if len(got) != 3 || got[0] != "httptest/" {
		t.Errorf("dirs: %v", got)
	}
	if got, _ := svc.FindFiles(ctx, "zzzz", 10, false); len(got) != 0 {
		t.Errorf("no match: %v", got)
	}
	if got, _ := svc.FindFiles(ctx, "Server", 10, false); len(got) != 0 {
		t.Errorf("smart case: %v", got)
	}
	if got, _ := svc.FindFiles(ctx, "$(touch x);--pre=sh", 10, false); len(got) != 0 {
		t.Errorf("injection-looking query: %v", got)
	}
	write(t, root, "brand_new_server.go", "x")
	waitFor(t, func() bool {
		got, _ := svc.FindFiles(ctx, "brandnew", 10, false)
		return slices.Equal(got, []string{"brand_new_server.go"})
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 250 {
		if cond() {
			return
		}
		sleep()
	}
	t.Fatal("condition not met in time")
}

// TestLinesCwdKeepAndCap: the grep tool's search sees only the served
// directory, with paths relative to it (as Keep sees them), every matching
// line without its "\r", capped per file, and each file's modification time.
func TestLinesCwdKeepAndCap(t *testing.T) {
	root := t.TempDir()
	write(t, root, "top.go", "needle top\n")
	write(t, root, "sub/a.go", "needle 1\r\nhay\r\nneedle 2\r\nneedle 3\r\n")
	write(t, root, "sub/b.txt", "needle b")
	write(t, root, "sub/deep/c.go", "x needle\n")
	svc := open(t, root, filepath.Join(root, "sub"))
	ctx := context.Background()
	var kept []string
	got, err := svc.Lines(ctx, LineQuery{Regexp: regexp.MustCompile(`needle \d$`), Keep: func(rel string) bool {
		kept = append(kept, rel)
		return strings.HasSuffix(rel, ".go")
	}, MaxPerFile: 2})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(kept)
	if fmt.Sprint(kept) != "[a.go b.txt deep/c.go]" {
		t.Errorf("Keep saw %v", kept)
	}
	fi, err := os.Stat(filepath.Join(root, "sub", "a.go"))
	if err != nil {
		t.Fatal(err)
	}
	want := []FileLines{{Path: "a.go", ModTime: fi.ModTime().UnixNano(), Lines: []Line{{1, "needle 1"}, {3, "needle 2"}}}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Lines = %+v, want %+v", got, want)
	}
	for _, dir := range []string{"..", "deep/..", "."} {
		got, err := svc.Lines(ctx, LineQuery{Regexp: regexp.MustCompile("needle"), Dir: dir})
		if err != nil || len(got) != 3 || got[0].Path != "a.go" || got[2].Path != "deep/c.go" {
			t.Errorf("Lines in %q: %+v %v, want the served directory's three files", dir, got, err)
		}
	}
	if _, err := svc.Lines(ctx, LineQuery{Regexp: regexp.MustCompile("x"), Dir: "../../x"}); !errors.Is(err, ErrOutside) {
		t.Errorf("Lines outside the root: %v", err)
	}
}
