package search

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"ocgo/gittest"
)

// TestConfinement sends traversal and symlink payloads to every path-taking
// method; all must fail with the same ErrOutside, with no path in the text.
func TestConfinement(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "proj")
	outside := filepath.Join(base, "outside")
	write(t, outside, "secret.txt", "TOPSECRET\n")
	write(t, root, "sub/inside.txt", "hello\n")
	write(t, root, ".git/config", "[core]\n")
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink(outside, filepath.Join(root, "link_dir")))
	must(os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(root, "link_file")))
	must(os.Symlink(filepath.Join(outside, "missing.txt"), filepath.Join(root, "link_missing")))
	must(os.Symlink("../outside/secret.txt", filepath.Join(root, "link_rel")))
	must(os.Symlink("../outside/nothing", filepath.Join(root, "link_rel_missing")))
	must(os.Symlink("/etc/passwd", filepath.Join(root, "link_abs")))
	must(os.Symlink("sub/inside.txt", filepath.Join(root, "link_ok")))

	for _, cwdRel := range []string{"", "sub"} {
		svc := open(t, root, filepath.Join(root, cwdRel))
		up := ".."
		if cwdRel != "" {
			up = "../.."
		}
		payloads := []string{
			up + "/outside/secret.txt",
			up + "/outside/does-not-exist",
			up + "/outside",
			up,
			"../../../../../../../../etc/passwd",
			"/etc/passwd",
			"/etc",
			filepath.Join(outside, "secret.txt"),
			filepath.Join(outside, "nope"),
			"sub/../" + up + "/outside/secret.txt",
			"./" + up + "/outside/secret.txt",
			"/" + up + "/../etc/passwd",
			"/../../etc/passwd",
			"a\x00b",
			".git/config",
			".git",
			"sub/../.git/config",
		}
		if cwdRel == "" {
			payloads = append(payloads, "link_dir/secret.txt", "link_dir", "link_dir/missing", "link_file",
				"link_missing", "link_rel", "link_rel_missing", "link_abs")
		} else {
			payloads = append(payloads, "../link_dir/secret.txt", "../link_file", "../link_missing", "../link_abs")
		}
		ctx := context.Background()
		for _, p := range payloads {
			_, err1 := svc.Read(ctx, p)
			_, err2 := svc.List(ctx, p)
			_, err3 := svc.Stat(ctx, p)
			for i, err := range []error{err1, err2, err3} {
				if !errors.Is(err, ErrOutside) {
					t.Errorf("cwd=%q method %d path %q: err = %v, want ErrOutside", cwdRel, i, p, err)
				}
				if err != nil && (strings.Contains(err.Error(), base) || strings.Contains(err.Error(), "/etc")) {
					t.Errorf("error text leaks a path: %q", err)
				}
			}
		}
		// Inside the project everything works, including a symlink to an inside file.
		okPath := "sub/inside.txt"
		if cwdRel != "" {
			okPath = "inside.txt"
		}
		for _, p := range []string{okPath, filepath.Join(root, "sub/inside.txt")} {
			c, err := svc.Read(ctx, p)
			if err != nil || c.Content != "hello\n" || c.Type != "raw" {
				t.Errorf("Read(%q) = %+v, %v", p, c, err)
			}
		}
		if cwdRel == "" {
			if c, err := svc.Read(ctx, "link_ok"); err != nil || c.Content != "hello\n" {
				t.Errorf("inside symlink: %+v %v", c, err)
			}
		}
		if _, err := svc.Read(ctx, "nope.txt"); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing file: %v", err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(outside, "secret.txt")); string(b) != "TOPSECRET\n" {
		t.Fatal("outside file changed")
	}
}

func TestListAndRead(t *testing.T) {
	needGit(t)
	gittest.Env(t)
	root := t.TempDir()
	git(t, root, "init", "-q")
	write(t, root, ".gitignore", "*.log\nbuild/\n")
	write(t, root, "sub/.gitignore", "secret*\n")
	for _, f := range []string{"client.go", "client_test.go", "Zeta.go", "alpha.go", "a.log", ".DS_Store", "build/x", "sub/secret.txt", "sub/ok.txt", "dir2/x"} {
		write(t, root, f, "package x\n")
	}
	write(t, root, "mod.txt", "one\ntwo\nthree\n")
	write(t, root, "blob.bin", "\x00\x00\x01")
	git(t, root, "add", "-A")
	git(t, root, "commit", "-qm", "init")
	svc := open(t, root, root)
	ctx := context.Background()

	nodes, err := svc.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range nodes {
		names = append(names, n.Name)
		if n.Name == "build" && (!n.Ignored || n.Type != "directory") {
			t.Errorf("build: %+v", n)
		}
		if n.Name == "a.log" && !n.Ignored {
			t.Errorf("a.log not ignored")
		}
		if n.Name == "client.go" && n.Ignored {
			t.Errorf("client.go ignored")
		}
	}
	want := []string{"build", "dir2", "sub", ".gitignore", "a.log", "alpha.go", "blob.bin", "client_test.go", "client.go", "mod.txt", "Zeta.go"}
	if !slices.Equal(names, want) {
		t.Errorf("list order\n got %v\nwant %v", names, want)
	}
	sub, err := svc.List(ctx, "sub")
	if err != nil || len(sub) != 3 || sub[2].Path != "sub/secret.txt" || !sub[2].Ignored || sub[1].Ignored {
		t.Errorf("sub listing: %+v %v", sub, err)
	}
	if _, err := svc.List(ctx, "mod.txt"); !errors.Is(err, ErrNotDir) {
		t.Errorf("list of a file: %v", err)
	}
	if _, err := svc.List(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("list of missing dir: %v", err)
	}
	if d, err := svc.Stat(ctx, "sub"); err != nil || !d {
		t.Errorf("stat sub: %v %v", d, err)
	}

	c, err := svc.Read(ctx, "mod.txt")
	if err != nil || c.Type != "raw" || c.Content != "one\ntwo\nthree\n" {
		t.Errorf("clean read: %+v %v", c, err)
	}
	write(t, root, "mod.txt", "one\n2\nthree\n")
	c, err = svc.Read(ctx, "mod.txt")
	wantPatch := "Index: mod.txt\n" + strings.Repeat("=", 67) + "\n--- mod.txt\told\n+++ mod.txt\tnew\n@@ -1,3 +1,3 @@\n one\n-two\n+2\n three\n"
	if err != nil || c.Type != "patch" || c.Content != wantPatch {
		t.Errorf("modified read: %+v %v\nwant %q", c, err, wantPatch)
	}
	c, err = svc.Read(ctx, "blob.bin")
	if err != nil || !strings.Contains(c.Content, "binary") || len(c.Content) > 100 {
		t.Errorf("binary read: %+v %v", c, err)
	}
	write(t, root, "bad.txt", "ok \xff\xfe end\n")
	c, err = svc.Read(ctx, "bad.txt")
	if b, _ := json.Marshal(c); err != nil || !json.Valid(b) || !strings.Contains(c.Content, "\uFFFD") {
		t.Errorf("non-UTF-8 read: %+v %v", c, err)
	}
	if _, err := svc.Read(ctx, "sub"); !errors.Is(err, ErrIsDir) {
		t.Errorf("read of dir: %v", err)
	}
}
