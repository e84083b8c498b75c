package tool

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fixture builds a small project with a .gitignore; mtimes increase in the
// order files are listed, so "newest first" is deterministic.
func fixture(t *testing.T) *testEnv {
	e := newEnv(t)
	files := []struct{ path, content string }{
		{".gitignore", "ignored/\n*.log\n"},
		{"a.go", "package a\n\nfunc Alpha() {}\n"},
		{"sub/c.go", "package sub\n\nfunc Gamma() {}\nfunc Delta() {}\n"},
		{"sub/d.txt", "func in text\n"},
		{"sub/deep/e.go", "package deep\n"},
		{"ignored/x.go", "func Ignored() {}\n"},
		{"app.log", "func Log() {}\n"},
		{"sub/.gitignore", "secret.go\n"},
		{"sub/secret.go", "func Secret() {}\n"},
		{"node_modules/m.js", "function m() {}\n"},
		{"b.go", "package a\n\nfunc Beta() {}\n"},
	}
	base := time.Now().Add(-time.Hour)
	for i, f := range files {
		p := e.file(f.path, f.content)
		mt := base.Add(time.Duration(i) * time.Minute)
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func TestGlob(t *testing.T) {
	e := fixture(t)
	j := func(ps ...string) string {
		for i, p := range ps {
			ps[i] = filepath.Join(e.path, p)
		}
		return strings.Join(ps, "\n")
	}
	cases := []struct {
		pattern, path, want string
		count               int
	}{
		{"**/*.go", "", j("b.go", "sub/deep/e.go", "sub/c.go", "a.go"), 4},
		{"*.go", "", j("b.go", "a.go"), 2},
		{"**/*.{go,txt}", "sub", j("sub/deep/e.go", "sub/d.txt", "sub/c.go"), 3},
		{"*.rs", "", "No files found", 0},
	}
	for _, c := range cases {
		r := mustRun(t, e, "glob", m{"pattern": c.pattern, "path": c.path})
		if r.Output != c.want || r.Metadata["count"] != c.count || r.Metadata["truncated"] != false {
			t.Errorf("glob %s in %q:\n%s\nwant\n%s (%v)", c.pattern, c.path, r.Output, c.want, r.Metadata)
		}
	}
	if r := mustRun(t, e, "glob", m{"pattern": "*", "path": "sub"}); r.Title != "sub" {
		t.Errorf("title %q", r.Title)
	}
}

func TestGlobCap(t *testing.T) {
	e := newEnv(t)
	for i := range 120 {
		e.file(filepath.Join("many", "f"+strings.Repeat("x", i%3)+string(rune('a'+i%26))+".txt"), "")
		e.file(filepath.Join("many", "n", "g"+strconv.Itoa(i)+".txt"), "")
	}
	r := mustRun(t, e, "glob", m{"pattern": "**/*.txt"})
	lines := strings.Split(r.Output, "\n")
	if r.Metadata["count"] != 100 || r.Metadata["truncated"] != true || len(lines) != 102 || lines[101] != "(Results are truncated. Consider using a more specific path or pattern.)" {
		t.Errorf("metadata %v, %d lines", r.Metadata, len(lines))
	}
}

func TestGrep(t *testing.T) {
	e := fixture(t)
	r := mustRun(t, e, "grep", m{"pattern": `func \w+`, "include": "*.go"})
	want := "Found 4 matches\n" +
		filepath.Join(e.path, "b.go") + ":\n  Line 3: func Beta() {}\n\n" +
		filepath.Join(e.path, "sub/c.go") + ":\n  Line 3: func Gamma() {}\n  Line 4: func Delta() {}\n\n" +
		filepath.Join(e.path, "a.go") + ":\n  Line 3: func Alpha() {}"
	if r.Output != want {
		t.Errorf("grep output:\n%s\nwant\n%s", r.Output, want)
	}
	if r.Title != `func \w+` || r.Metadata["matches"] != 4 || r.Metadata["truncated"] != false {
		t.Errorf("title %q metadata %v", r.Title, r.Metadata)
	}
	r = mustRun(t, e, "grep", m{"pattern": "func", "path": "sub"})
	if !strings.HasPrefix(r.Output, "Found 3 matches\n") || !strings.Contains(r.Output, "d.txt:\n  Line 1: func in text") {
		t.Errorf("grep in sub:\n%s", r.Output)
	}
	r = mustRun(t, e, "grep", m{"pattern": "NoSuchThing"})
	if r.Output != "No files found" || r.Metadata["matches"] != 0 {
		t.Errorf("no match: %q", r.Output)
	}
	if _, err := run(t, e, "grep", m{"pattern": "("}); err == nil {
		t.Error("bad regexp accepted")
	}
}

func TestList(t *testing.T) {
	e := fixture(t)
	r := mustRun(t, e, "list", m{})
	want := e.path + "/\n" +
		"  sub/\n" +
		"    deep/\n" +
		"      e.go\n" +
		"    .gitignore\n" +
		"    c.go\n" +
		"    d.txt\n" +
		"  .gitignore\n" +
		"  a.go\n" +
		"  b.go\n"
	if r.Output != want {
		t.Errorf("list:\n%s\nwant\n%s", r.Output, want)
	}
	if r.Title != "" || r.Metadata["count"] != 7 || r.Metadata["truncated"] != false {
		t.Errorf("title %q metadata %v", r.Title, r.Metadata)
	}
	r = mustRun(t, e, "list", m{"path": filepath.Join(e.path, "sub"), "ignore": []string{"deep/", "*.txt"}})
	want = filepath.Join(e.path, "sub") + "/\n  .gitignore\n  c.go\n"
	if r.Output != want || r.Title != "sub" {
		t.Errorf("list sub:\n%s\nwant\n%s", r.Output, want)
	}
}
