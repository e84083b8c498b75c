package ignore

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"ocgo/gittest"
)

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "core.quotePath=false"}, args...)...)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, stderr.String())
	}
	return string(out)
}

func write(t *testing.T, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fixture is a work tree exercising every rule git applies.
var fixture = map[string]string{
	".gitignore":             "\xef\xbb\xbf*.log\n!keep.log\n/rootonly.txt\nbuild/\n!build/keep.txt\nlogs/\ndocs/**/*.tmp\n**/gen/**\nvendor/**\n# comment\n\n*.swp\ntrail.txt   \n",
	"a.log":                  "",
	"keep.log":               "",
	"rootonly.txt":           "",
	"trail.txt":              "",
	"sub/rootonly.txt":       "",
	"build/x.o":              "",
	"build/keep.txt":         "",
	"logs":                   "a file named logs",
	"sub/logs/x":             "",
	"docs/a/b/c.tmp":         "",
	"docs/a/b/c.md":          "",
	"x/gen/y/z.go":           "",
	"x/gen.go":               "",
	"vendor/m/x.go":          "",
	"sub/.gitignore":         "*.txt\n!important.txt\n!a.log\nonlydir/\n",
	"sub/a.log":              "",
	"sub/b.log":              "",
	"sub/important.txt":      "",
	"sub/other.txt":          "",
	"sub/onlydir/f":          "",
	"sub/deep/onlydir":       "a file, not a dir",
	"sub/deep/other.txt":     "",
	"sub/deep/important.txt": "",
	"sub/deep/.gitignore":    "!other.txt\n",
	"excluded.priv":          "",
	"sub/x.priv":             "",
	"z.globalbak":            "",
	"sub/z.globalbak":        "",
	"neg/.gitignore":         "*\n!.gitignore\n!keep/\n!keep/**\n",
	"neg/drop":               "",
	"neg/keep/k":             "",
	".hidden/file":           "",
	"main.go":                "",
}

// treeFiles lists the files under root as a Tree-driven walk sees them.
func treeFiles(t *testing.T, root string) []string {
	tr := NewTree(root, os.LookupEnv)
	var out, all []string
	var walk func(rel string)
	walk = func(rel string) {
		abs := filepath.Join(root, filepath.FromSlash(rel))
		ents, err := os.ReadDir(abs)
		if err != nil {
			t.Fatal(err)
		}
		tr.Forget(rel)
		f, _ := os.OpenFile(filepath.Join(abs, ".gitignore"), os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0) // as dirent.Dir.Open
		tr.Load(rel, f)
		if f != nil {
			_ = f.Close()
		}
		for _, e := range ents {
			crel := e.Name()
			if rel != "" {
				crel = rel + "/" + e.Name()
			}
			if !e.IsDir() {
				all = append(all, crel)
			}
			if tr.Match(crel, strings.Split(crel, "/"), e.IsDir()) {
				continue
			}
			if e.IsDir() {
				walk(crel)
			} else {
				out = append(out, crel)
			}
		}
	}
	walk("")
	// Ignored must agree file by file, ancestors included.
	for _, rel := range all {
		if ig, listed := tr.Ignored(rel, false), slices.Contains(out, rel); ig == listed {
			t.Errorf("Ignored(%q) = %v, the walk listed it: %v", rel, ig, listed)
		}
	}
	slices.Sort(out)
	return out
}

// stackFiles lists the files under root with flat pattern stacks (Match).
func stackFiles(t *testing.T, root string) []string {
	outer, prefix := ForRoot(root, os.LookupEnv)
	var out []string
	var walk func(rel string, comps []string, pats []Pattern)
	walk = func(rel string, comps []string, pats []Pattern) {
		abs := filepath.Join(root, filepath.FromSlash(rel))
		pats = append(pats[:len(pats):len(pats)], ReadGitignore(abs, comps)...)
		ents, err := os.ReadDir(abs)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			crel := e.Name()
			if rel != "" {
				crel = rel + "/" + e.Name()
			}
			cc := append(comps[:len(comps):len(comps)], e.Name())
			if Match(pats, cc, e.IsDir()) {
				continue
			}
			if e.IsDir() {
				walk(crel, cc, pats)
			} else {
				out = append(out, crel)
			}
		}
	}
	walk("", prefix, outer)
	slices.Sort(out)
	return out
}

func TestMatchesGit(t *testing.T) {
	cases := []struct {
		name string
		// setup prepares the home directory and the repository; it returns
		// the directory to list (the work tree or a directory inside it).
		setup func(t *testing.T, home, repo string) string
	}{
		{"xdg default excludes", func(t *testing.T, home, repo string) string {
			write(t, home, ".config/git/ignore", "*.globalbak\n")
			return repo
		}},
		{"core.excludesFile with ~ in ~/.gitconfig", func(t *testing.T, home, repo string) string {
			write(t, home, ".gitconfig", "[core]\n\texcludesFile = ~/my-ignore\n")
			write(t, home, "my-ignore", "*.globalbak\n")
			write(t, home, ".config/git/ignore", "*.go\n") // not read: the key is set
			return repo
		}},
		{"empty GIT_CONFIG_GLOBAL hides ~/.gitconfig", func(t *testing.T, home, repo string) string {
			t.Setenv("GIT_CONFIG_GLOBAL", "")
			write(t, home, ".gitconfig", "[core]\n\texcludesFile = ~/my-ignore\n")
			write(t, home, "my-ignore", "*.go\n")
			write(t, home, ".config/git/ignore", "*.globalbak\n")
			return repo
		}},
		{"core.excludesFile in XDG config, repo config wins", func(t *testing.T, home, repo string) string {
			write(t, home, ".config/git/config", "[core]\n\texcludesfile = "+filepath.Join(home, "wrong")+"\n")
			write(t, home, "wrong", "*.go\n")
			write(t, home, "right", "*.globalbak\n")
			git(t, repo, "config", "core.excludesFile", filepath.Join(home, "right"))
			return repo
		}},
		{"subdirectory root", func(t *testing.T, home, repo string) string {
			write(t, home, ".config/git/ignore", "*.globalbak\n")
			return filepath.Join(repo, "sub")
		}},
		{"linked worktree reads the common info/exclude", func(t *testing.T, home, repo string) string {
			write(t, home, ".config/git/ignore", "*.globalbak\n")
			git(t, repo, "add", "-A")
			git(t, repo, "commit", "-qm", "fixture")
			wt := filepath.Join(t.TempDir(), "wt")
			git(t, repo, "worktree", "add", "-q", wt)
			for rel, c := range fixture { // untracked copies of the ignored ones
				write(t, wt, rel, c)
			}
			return wt
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			home := gittest.Env(t)
			repo := t.TempDir()
			git(t, repo, "init", "-q")
			for rel, content := range fixture {
				write(t, repo, rel, content)
			}
			write(t, repo, ".git/info/exclude", "*.priv\n")
			dir := c.setup(t, home, repo)
			want := strings.Split(strings.TrimSpace(git(t, dir, "ls-files", "-co", "--exclude-standard")), "\n")
			slices.Sort(want)
			if len(want) < 5 {
				t.Fatalf("fixture too small: %v", want)
			}
			if got := treeFiles(t, dir); !slices.Equal(got, want) {
				t.Errorf("Tree walk differs from git ls-files\n got: %q\nwant: %q", got, want)
			}
			if got := stackFiles(t, dir); !slices.Equal(got, want) {
				t.Errorf("Match walk differs from git ls-files\n got: %q\nwant: %q", got, want)
			}
		})
	}
}

func TestSymlinkedGitignoreNotRead(t *testing.T) {
	home := gittest.Env(t)
	repo := t.TempDir()
	git(t, repo, "init", "-q")
	write(t, home, "patterns", "*.txt\n")
	if err := os.Symlink(filepath.Join(home, "patterns"), filepath.Join(repo, ".gitignore")); err != nil {
		t.Skip("no symlinks:", err)
	}
	write(t, repo, "a.txt", "")
	want := strings.Fields(git(t, repo, "ls-files", "-co", "--exclude-standard"))
	if got := treeFiles(t, repo); !slices.Equal(got, want) || !slices.Contains(got, "a.txt") {
		t.Errorf("got %q, git %q", got, want)
	}
}

func TestFindRepo(t *testing.T) {
	gittest.Env(t)
	repo := t.TempDir()
	git(t, repo, "init", "-q")
	write(t, repo, "a/b/f", "")
	r, ok := FindRepo(filepath.Join(repo, "a", "b"))
	if !ok || r.Top != repo || r.GitDir != filepath.Join(repo, ".git") || r.CommonDir != r.GitDir || r.Prefix != "a/b" {
		t.Fatalf("FindRepo = %+v, %v", r, ok)
	}
	if _, ok := FindRepo(t.TempDir()); ok {
		t.Error("a plain directory is not a repository")
	}
}

// TestEnvIsInjected: git's variables come from the Env handed in, never from
// the process (whose HOME here holds rules that must not apply).
func TestEnvIsInjected(t *testing.T) {
	procHome, home := t.TempDir(), t.TempDir()
	t.Setenv("HOME", procHome)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(procHome, ".config"))
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	write(t, procHome, ".config/git/ignore", "*.go\n")
	write(t, home, ".config/git/ignore", "*.globalbak\n")
	write(t, home, ".gitconfig", "[core]\n\texcludesFile = ~/my-ignore\n")
	write(t, home, "my-ignore", "*.mine\n")
	vars := map[string]string{"HOME": home, "GIT_CONFIG_NOSYSTEM": "1"}
	env := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }

	matches := func(name string) bool {
		outer, _ := ForRoot(t.TempDir(), env)
		return Match(outer, []string{name}, false)
	}
	if got := GlobalExcludesFile("", env); got != filepath.Join(home, "my-ignore") {
		t.Errorf("GlobalExcludesFile = %q, want the injected HOME's core.excludesFile", got)
	}
	if !matches("a.mine") || matches("a.go") || matches("a.globalbak") {
		t.Error("rules of the injected HOME's ~/.gitconfig expected, and only those")
	}
	vars["GIT_CONFIG_GLOBAL"] = "" // set but empty: no global config at all
	if got := GlobalExcludesFile("", env); got != filepath.Join(home, ".config", "git", "ignore") {
		t.Errorf("with GIT_CONFIG_GLOBAL empty: GlobalExcludesFile = %q", got)
	}
	if !matches("a.globalbak") || matches("a.mine") || matches("a.go") {
		t.Error("with GIT_CONFIG_GLOBAL empty: the injected HOME's default excludes expected")
	}
	vars["XDG_CONFIG_HOME"] = filepath.Join(procHome, ".config")
	if !matches("a.go") || matches("a.globalbak") {
		t.Error("XDG_CONFIG_HOME from the Env not followed")
	}
	if GlobalExcludesFile("", nil) != "" {
		t.Error("a nil Env is an empty environment: no location can be formed")
	}
}
