package tool

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReadFormat(t *testing.T) {
	e := newEnv(t)
	abs := e.file("a.txt", "one\ntwo\nthree\n")
	for _, p := range []string{"a.txt", abs} {
		r := mustRun(t, e, "read", m{"filePath": p})
		want := "<file>\n00001| one\n00002| two\n00003| three\n00004| \n\n(End of file - total 4 lines)\n</file>"
		if r.Output != want {
			t.Errorf("read %s output:\n%q\nwant\n%q", p, r.Output, want)
		}
		if r.Title != "a.txt" || r.Metadata["preview"] != "one\ntwo\nthree\n" {
			t.Errorf("title %q preview %q", r.Title, r.Metadata["preview"])
		}
	}
	if _, ok := e.FileReadTime("ses_1", abs); !ok {
		t.Error("read did not record FileRead")
	}
}

func TestReadOffsetLimitAndLongLines(t *testing.T) {
	e := newEnv(t)
	var lines []string
	for i := 1; i <= 10; i++ {
		lines = append(lines, strings.Repeat("x", i))
	}
	lines[4] = strings.Repeat("é", 2500)
	e.file("ten.txt", strings.Join(lines, "\n"))
	r := mustRun(t, e, "read", m{"filePath": "ten.txt", "offset": 2, "limit": 3})
	want := "<file>\n00003| xxx\n00004| xxxx\n00005| " + strings.Repeat("é", 2000) + "...\n\n(File has more lines. Use 'offset' parameter to read beyond line 5)\n</file>"
	if r.Output != want {
		t.Errorf("got %q", r.Output[:80])
	}
	// string numbers are coerced like the original's z.coerce.number
	r = mustRun(t, e, "read", m{"filePath": "ten.txt", "offset": "8"})
	if !strings.HasPrefix(r.Output, "<file>\n00009| xxxxxxxxx\n00010| xxxxxxxxxx\n\n(End of file - total 10 lines)") {
		t.Errorf("got %q", r.Output)
	}
}

func TestReadRefusals(t *testing.T) {
	e := newEnv(t)
	e.file("bin.dat2", "abc\x00def")
	e.file("img.png", "not really png")
	e.file("notes.txt.bak", "x")
	e.file("dir/x", "x")
	cases := []struct {
		name, path string
		want       error
		contains   string
	}{
		{"nul byte", "bin.dat2", ErrBinary, ""},
		{"binary extension", "img.png", ErrBinary, ""},
		{"missing with suggestion", "notes.txt", ErrNotFound, "Did you mean one of these?\n" + filepath.Join(e.path, "notes.txt.bak")},
		{"missing", "zzz", ErrNotFound, ""},
		{"directory", "dir", ErrInvalidInput, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := run(t, e, "read", m{"filePath": c.path})
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.contains) {
				t.Errorf("err = %v, want %v containing %q", err, c.want, c.contains)
			}
		})
	}
}

func TestWriteThenEdit(t *testing.T) {
	e := newEnv(t)
	r := mustRun(t, e, "write", m{"filePath": "src/main.go", "content": "package main\n\nfunc main() {\n\tprintln(\"hi\")\n}\n"})
	abs := filepath.Join(e.path, "src/main.go")
	if r.Title != "src/main.go" || r.Metadata["exists"] != false || r.Metadata["filepath"] != abs || r.Output != "" {
		t.Errorf("write result %+v", r)
	}
	if len(e.edited) != 1 || e.edited[0] != abs {
		t.Errorf("edited %v", e.edited)
	}
	// overwrite after our own write is allowed (write records a read)
	r = mustRun(t, e, "write", m{"filePath": abs, "content": "package main\n\nfunc main() {\n\tprintln(\"hi\")\n\tprintln(\"hi\")\n}\n"})
	if r.Metadata["exists"] != true {
		t.Errorf("exists = %v", r.Metadata["exists"])
	}

	t.Run("exact", func(t *testing.T) {
		r := mustRun(t, e, "edit", m{"filePath": "src/main.go", "oldString": "package main", "newString": "package app"})
		if !strings.HasPrefix(e.content("src/main.go"), "package app\n") {
			t.Errorf("content %q", e.content("src/main.go"))
		}
		diff, _ := r.Metadata["diff"].(string)
		if !strings.Contains(diff, "-package main\n") || !strings.Contains(diff, "+package app\n") || !strings.HasPrefix(diff, "Index: "+abs+"\n") {
			t.Errorf("diff %q", diff)
		}
	})
	t.Run("ambiguous", func(t *testing.T) {
		before := e.content("src/main.go")
		_, err := run(t, e, "edit", m{"filePath": "src/main.go", "oldString": "println(\"hi\")", "newString": "println(\"yo\")"})
		if !errors.Is(err, ErrAmbiguous) || e.content("src/main.go") != before {
			t.Errorf("err %v", err)
		}
	})
	t.Run("replaceAll", func(t *testing.T) {
		mustRun(t, e, "edit", m{"filePath": "src/main.go", "oldString": "println(\"hi\")", "newString": "println(\"yo\")", "replaceAll": true})
		if got := strings.Count(e.content("src/main.go"), "yo"); got != 2 {
			t.Errorf("%d replacements", got)
		}
	})
	t.Run("whitespace tolerant", func(t *testing.T) {
		// indentation differs (spaces instead of tabs) and inner spacing differs
		mustRun(t, e, "edit", m{"filePath": "src/main.go", "oldString": "func main() {\n    println(\"yo\")\n    println(\"yo\")\n}", "newString": "func main() {}"})
		if e.content("src/main.go") != "package app\n\nfunc main() {}\n" {
			t.Errorf("content %q", e.content("src/main.go"))
		}
		mustRun(t, e, "edit", m{"filePath": "src/main.go", "oldString": "func   main()\t{}", "newString": "func main() { run() }"})
		if e.content("src/main.go") != "package app\n\nfunc main() { run() }\n" {
			t.Errorf("content %q", e.content("src/main.go"))
		}
	})
	t.Run("no match", func(t *testing.T) {
		_, err := run(t, e, "edit", m{"filePath": "src/main.go", "oldString": "nothing like this", "newString": "x"})
		if !errors.Is(err, ErrNoMatch) {
			t.Errorf("err %v", err)
		}
	})
	t.Run("same strings", func(t *testing.T) {
		_, err := run(t, e, "edit", m{"filePath": "src/main.go", "oldString": "a", "newString": "a"})
		if !errors.Is(err, ErrInvalidInput) {
			t.Errorf("err %v", err)
		}
	})
}

func TestEditRequiresRead(t *testing.T) {
	e := newEnv(t)
	abs := e.file("f.txt", "hello\n")
	_, err := run(t, e, "edit", m{"filePath": "f.txt", "oldString": "hello", "newString": "bye"})
	if !errors.Is(err, ErrNotRead) || e.content("f.txt") != "hello\n" {
		t.Fatalf("edit before read: %v", err)
	}
	_, err = run(t, e, "write", m{"filePath": "f.txt", "content": "x"})
	if !errors.Is(err, ErrNotRead) || e.content("f.txt") != "hello\n" {
		t.Fatalf("write before read: %v", err)
	}
	mustRun(t, e, "read", m{"filePath": "f.txt"})
	// modified on disk after the read
	future := time.Now().Add(time.Hour)
	if err := os.Chtimes(abs, future, future); err != nil {
		t.Fatal(err)
	}
	_, err = run(t, e, "edit", m{"filePath": "f.txt", "oldString": "hello", "newString": "bye"})
	if !errors.Is(err, ErrNotRead) || !strings.Contains(err.Error(), "modified since it was last read") {
		t.Fatalf("edit after outside change: %v", err)
	}
	mustRun(t, e, "read", m{"filePath": "f.txt"})
	e.reads["ses_1\x00"+abs] = future.Add(time.Second)
	mustRun(t, e, "edit", m{"filePath": "f.txt", "oldString": "hello", "newString": "bye"})
	if e.content("f.txt") != "bye\n" {
		t.Errorf("content %q", e.content("f.txt"))
	}
}

func TestEditPermissions(t *testing.T) {
	e := newEnv(t)
	abs := e.file("f.txt", "hello\n")
	mustRun(t, e, "read", m{"filePath": "f.txt"})
	e.allow("edit", map[string]string{"*": Ask})
	e.askErr = ErrRejected
	_, err := run(t, e, "edit", m{"filePath": "f.txt", "oldString": "hello", "newString": "bye"})
	if !errors.Is(err, ErrRejected) || e.content("f.txt") != "hello\n" {
		t.Fatalf("rejected edit: %v", err)
	}
	if len(e.asks) != 1 {
		t.Fatalf("asks %v", e.asks)
	}
	p := e.asks[0]
	if p.Type != "edit" || p.Pattern != abs || p.Title != "Edit this file: "+abs || p.Metadata["filePath"] != abs || !strings.Contains(p.Metadata["diff"].(string), "+bye") {
		t.Errorf("permission %+v", p)
	}
	_, err = run(t, e, "write", m{"filePath": "new.txt", "content": "c"})
	if !errors.Is(err, ErrRejected) {
		t.Fatal(err)
	}
	p = e.asks[1]
	if p.Type != "write" || p.Pattern != "" || p.Title != "Create new file: "+filepath.Join(e.path, "new.txt") || p.Metadata["exists"] != false || p.Metadata["content"] != "c" {
		t.Errorf("write permission %+v", p)
	}
	if _, err := os.Stat(filepath.Join(e.path, "new.txt")); !os.IsNotExist(err) {
		t.Error("rejected write created the file")
	}
	e.askErr = nil
	mustRun(t, e, "write", m{"filePath": "new.txt", "content": "c"})
	e.allow("edit", map[string]string{"*": Deny})
	_, err = run(t, e, "write", m{"filePath": "new.txt", "content": "d"})
	if !errors.Is(err, ErrDenied) || len(e.asks) != 3 || e.content("new.txt") != "c" {
		t.Errorf("denied write: %v, asks %d", err, len(e.asks))
	}
}

func TestPathConfinement(t *testing.T) {
	e := newEnv(t)
	outside, secret := e.outsideSecret("secret\n")
	if err := os.Symlink(outside, filepath.Join(e.path, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(e.path, "secret-link.txt")); err != nil {
		t.Fatal(err)
	}
	// Pretend the session read the outside files so only confinement can stop edits.
	for _, p := range []string{secret, filepath.Join(e.path, "link", "secret.txt"), filepath.Join(e.path, "secret-link.txt")} {
		e.reads["ses_1\x00"+p] = time.Now().Add(time.Hour)
	}
	paths := []string{"../outside/secret.txt", secret, "link/secret.txt", "secret-link.txt", "a/../../outside/secret.txt"}
	for _, p := range paths {
		t.Run(p, func(t *testing.T) {
			for _, c := range []struct {
				tool  string
				input m
			}{
				{"read", m{"filePath": p}},
				{"write", m{"filePath": p, "content": "pwned"}},
				{"edit", m{"filePath": p, "oldString": "secret", "newString": "pwned"}},
				{"write", m{"filePath": filepath.Join(filepath.Dir(p), "new.txt"), "content": "pwned"}},
			} {
				if fp, _ := c.input["filePath"].(string); strings.HasPrefix(fp, "new.txt") {
					continue // the symlinked file's directory is the root itself
				}
				_, err := run(t, e, c.tool, c.input)
				if !errors.Is(err, ErrOutsideRoot) {
					t.Errorf("%s %v: err = %v, want ErrOutsideRoot", c.tool, c.input, err)
				}
			}
		})
	}
	for _, c := range []struct {
		tool  string
		input m
	}{
		{"list", m{"path": outside}}, {"list", m{"path": "link"}}, {"glob", m{"pattern": "*", "path": "../outside"}},
		{"grep", m{"pattern": "secret", "path": "link"}},
		{"patch", m{"patchText": "*** Begin Patch\n*** Add File: ../outside/p.txt\n+x\n*** End Patch"}},
		{"patch", m{"patchText": "*** Begin Patch\n*** Delete File: link/secret.txt\n*** End Patch"}},
	} {
		if _, err := run(t, e, c.tool, c.input); !errors.Is(err, ErrOutsideRoot) {
			t.Errorf("%s %v: err = %v, want ErrOutsideRoot", c.tool, c.input, err)
		}
	}
	// grep over the root must not follow the symlinks out.
	r := mustRun(t, e, "grep", m{"pattern": "secret"})
	if r.Output != "No files found" {
		t.Errorf("grep followed a symlink: %q", r.Output)
	}
	if b, _ := os.ReadFile(secret); string(b) != "secret\n" {
		t.Errorf("secret changed: %q", b)
	}
	entries, _ := os.ReadDir(outside)
	if len(entries) != 1 {
		t.Errorf("outside dir has %d entries", len(entries))
	}
	if len(e.edited) != 0 {
		t.Errorf("edited %v", e.edited)
	}
}

func TestEditEscapeNormalisedAndBlockAnchor(t *testing.T) {
	e := newEnv(t)
	src := "package main\n\nfunc greet() string {\n\treturn \"hi\\tthere\"\n}\n\nfunc add(a, b int) int {\n\tsum := a + b\n\tlog(\"adding\")\n\treturn sum\n}\n"
	mustRun(t, e, "write", m{"filePath": "main.go", "content": src})

	t.Run("escaped oldString", func(t *testing.T) {
		// The model escaped the line breaks and quotes it copied.
		mustRun(t, e, "edit", m{"filePath": "main.go", "oldString": `func greet() string {\n\treturn \"hi\\tthere\"\n}`, "newString": "func greet() string { return \"yo\" }"})
		if !strings.Contains(e.content("main.go"), "func greet() string { return \"yo\" }\n\nfunc add") {
			t.Errorf("content %q", e.content("main.go"))
		}
	})
	t.Run("block by first and last lines", func(t *testing.T) {
		// The middle lines are misremembered (sum vs total, log text).
		old := "func add(a, b int) int {\n\ttotal := a + b\n\tlog(\"adding up\")\n\treturn total\n}"
		mustRun(t, e, "edit", m{"filePath": "main.go", "oldString": old, "newString": "func add(a, b int) int { return a + b }"})
		if !strings.HasSuffix(e.content("main.go"), "func add(a, b int) int { return a + b }\n") {
			t.Errorf("content %q", e.content("main.go"))
		}
	})
	t.Run("anchors around unrelated code are refused", func(t *testing.T) {
		mustRun(t, e, "write", m{"filePath": "b.go", "content": "func f() {\n\tcompletely()\n\tdifferent()\n\tbody()\n}\n"})
		_, err := run(t, e, "edit", m{"filePath": "b.go", "oldString": "func f() {\n\tx := 1\n}", "newString": "func f() {}"})
		if !errors.Is(err, ErrNoMatch) {
			t.Errorf("err %v", err)
		}
	})
	t.Run("two anchored blocks are ambiguous", func(t *testing.T) {
		two := "func f() {\n\tstep(1)\n\tstep(2)\n}\n\nfunc f() {\n\tstep(1)\n\tstep(3)\n}\n"
		mustRun(t, e, "write", m{"filePath": "c.go", "content": two})
		_, err := run(t, e, "edit", m{"filePath": "c.go", "oldString": "func f() {\n\tstep(one)\n\tstep(2or3)\n}", "newString": "x"})
		if !errors.Is(err, ErrAmbiguous) || e.content("c.go") != two {
			t.Errorf("err %v, content %q", err, e.content("c.go"))
		}
	})
}
