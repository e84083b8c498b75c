// Package ignore decides which paths of a git work tree git ignores. It is
// the one place in ocgo that reads ignore sources and applies them, so the
// file index, the snapshots and the search tools agree with each other and
// with git.
//
// Guarantee: for a work tree inside a git repository, a path is reported as
// ignored exactly when `git ls-files -co --exclude-standard` would leave it
// out (verified against git in the tests): the sources are, lowest priority
// first, the global excludes file (core.excludesFile resolved through the
// system, global and repository config, else $XDG_CONFIG_HOME/git/ignore or
// ~/.config/git/ignore), the repository's info/exclude (the common dir of a
// linked work tree), then each directory's .gitignore from the top down, a
// deeper file overriding a shallower one. Within a source the last matching
// line decides, "!" negates, a trailing "/" matches directories only, and
// "**" spans directories. A directory git excludes hides everything below
// it whatever later patterns say, and a component named .git is always
// excluded. As in git, a .gitignore that is a symbolic link is not read.
//
// Patterns are go-git's plumbing/format/gitignore patterns; paths are given
// as components from the repository top (see Repo.Prefix). The package reads
// files only; it holds no state beyond the values it returns. The variables
// git consults (GIT_CONFIG_*, XDG_CONFIG_HOME, HOME) are read through the Env
// its callers hand in, never from the process, so ocgo's injected
// environment decides here as everywhere else.
package ignore

import (
	"bufio"
	"bytes"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/format/config"
	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
)

// Pattern is one line of an ignore file, matching below its domain.
type Pattern = gitignore.Pattern

// Env looks a variable up in the environment ocgo was given (app.Config's),
// telling a variable set but empty from an unset one, as git does for
// GIT_CONFIG_GLOBAL and GIT_CONFIG_SYSTEM. A nil Env is an empty environment.
type Env func(name string) (string, bool)

func (e Env) lookup(name string) (string, bool) {
	if e == nil {
		return "", false
	}
	return e(name)
}

func (e Env) get(name string) string {
	v, _ := e.lookup(name)
	return v
}

// maxFileSize bounds a pattern file; a larger one is not read.
const maxFileSize = 4 << 20

// Parse parses the lines of an ignore file whose patterns apply below domain
// (the components, from the repository top, of the directory holding it).
func Parse(data []byte, domain []string) []Pattern {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // git skips a UTF-8 BOM
	var ps []Pattern
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		ps = append(ps, gitignore.ParsePattern(line, domain))
	}
	return ps
}

// ReadFile reads the pattern file at path, following symbolic links as git
// does for info/exclude and core.excludesFile. A missing, unreadable or
// oversized file gives no patterns.
func ReadFile(path string, domain []string) []Pattern {
	fi, err := os.Stat(path)
	return readRegular(fi, err, func() ([]byte, error) { return os.ReadFile(path) }, domain)
}

// ReadGitignore reads dir/.gitignore when it is a regular file (git does not
// follow a .gitignore that is a symbolic link).
func ReadGitignore(dir string, domain []string) []Pattern {
	p := filepath.Join(dir, ".gitignore")
	fi, err := os.Lstat(p)
	return readRegular(fi, err, func() ([]byte, error) { return os.ReadFile(p) }, domain)
}

// ReadGitignoreFS is ReadGitignore for dir (slash-separated) inside fsys.
func ReadGitignoreFS(fsys fs.FS, dir string, domain []string) []Pattern {
	p := path.Join(dir, ".gitignore")
	fi, err := fs.Lstat(fsys, p)
	return readRegular(fi, err, func() ([]byte, error) { return fs.ReadFile(fsys, p) }, domain)
}

// ParseFile parses the open pattern file f (its directory's components
// domain) when it is a regular file of acceptable size; nil otherwise. The
// caller opened it without following a link (dirent.Dir.Open), so a
// directory swapped for a link never supplies another directory's rules.
func ParseFile(f *os.File, domain []string) []Pattern {
	if f == nil {
		return nil
	}
	fi, err := f.Stat()
	return readRegular(fi, err, func() ([]byte, error) { return io.ReadAll(io.LimitReader(f, maxFileSize+1)) }, domain)
}

// readRegular parses the file described by fi (from a stat that returned
// err) when it is a regular file of acceptable size.
func readRegular(fi fs.FileInfo, err error, read func() ([]byte, error), domain []string) []Pattern {
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > maxFileSize {
		return nil
	}
	data, err := read()
	if err != nil {
		return nil
	}
	return Parse(data, domain)
}

// Repo locates the git repository a directory belongs to.
type Repo struct {
	Top       string // the work tree top: the directory holding .git
	GitDir    string // the per-work-tree git dir (holds the index)
	CommonDir string // holds config, info/exclude and objects
	Prefix    string // the directory relative to Top, slash-separated, "" at the top
}

// FindRepo looks for a .git directory or gitdir file at dir or above it, as
// git's discovery does. It reports false when dir is not in a repository or
// the first .git found is not usable.
func FindRepo(dir string) (Repo, bool) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return Repo{}, false
	}
	for top := dir; ; {
		dg := filepath.Join(top, ".git")
		if fi, err := os.Lstat(dg); err == nil {
			gd := ""
			switch {
			case fi.IsDir():
				gd = dg
			case fi.Mode().IsRegular():
				b, err := os.ReadFile(dg)
				if s, ok := bytes.CutPrefix(bytes.TrimSpace(b), []byte("gitdir:")); err == nil && ok {
					gd = strings.TrimSpace(string(s))
					if !filepath.IsAbs(gd) {
						gd = filepath.Join(top, gd)
					}
				}
			}
			if gd == "" || !exists(filepath.Join(gd, "objects")) && !exists(filepath.Join(gd, "commondir")) {
				return Repo{}, false
			}
			r := Repo{Top: top, GitDir: filepath.Clean(gd), CommonDir: filepath.Clean(gd)}
			if b, err := os.ReadFile(filepath.Join(gd, "commondir")); err == nil {
				c := strings.TrimSpace(string(b))
				if !filepath.IsAbs(c) {
					c = filepath.Join(gd, c)
				}
				r.CommonDir = filepath.Clean(c)
			}
			if rel, err := filepath.Rel(top, dir); err == nil && rel != "." {
				r.Prefix = filepath.ToSlash(rel)
			}
			return r, true
		}
		parent := filepath.Dir(top)
		if parent == top {
			return Repo{}, false
		}
		top = parent
	}
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// PrefixComps returns Prefix as path components (nil at the top).
func (r Repo) PrefixComps() []string {
	if r.Prefix == "" {
		return nil
	}
	return strings.Split(r.Prefix, "/")
}

// Outer returns the patterns that reach the directory from outside it:
// Base(r.CommonDir, env) then Above.
func (r Repo) Outer(env Env) []Pattern {
	return append(Base(r.CommonDir, env), r.Above()...)
}

// Above returns the patterns of the .gitignore files of the directories from
// the repository top down to, not including, the directory itself.
func (r Repo) Above() []Pattern {
	var ps []Pattern
	dir := r.Top
	parts := r.PrefixComps()
	for i := range parts {
		ps = append(ps, ReadGitignore(dir, parts[:i])...)
		dir = filepath.Join(dir, parts[i])
	}
	return ps
}

// Base returns the global excludes patterns followed by commonDir's
// info/exclude ("" for none), lowest priority first.
func Base(commonDir string, env Env) []Pattern {
	var ps []Pattern
	if f := GlobalExcludesFile(commonDir, env); f != "" {
		ps = append(ps, ReadFile(f, nil)...)
	}
	if commonDir != "" {
		ps = append(ps, ReadFile(filepath.Join(commonDir, "info", "exclude"), nil)...)
	}
	return ps
}

// GlobalExcludesFile returns the path of the global excludes file as git
// finds it: core.excludesFile (with ~ expanded), else
// $XDG_CONFIG_HOME/git/ignore or ~/.config/git/ignore. It is "" when no
// location can be formed.
func GlobalExcludesFile(commonDir string, env Env) string {
	home := env.get("HOME")
	if f, ok := CoreOption(commonDir, "excludesfile", env); ok {
		return expandHome(f, home)
	}
	if x := env.get("XDG_CONFIG_HOME"); x != "" {
		return filepath.Join(x, "git", "ignore")
	}
	if home != "" {
		return filepath.Join(home, ".config", "git", "ignore")
	}
	return ""
}

func expandHome(p, home string) string {
	if home != "" && (p == "~" || strings.HasPrefix(p, "~/")) {
		return filepath.Join(home, p[1:])
	}
	return p
}

// CoreOption reads core.<key> as git resolves it, later files winning: the
// system config (unless GIT_CONFIG_NOSYSTEM; GIT_CONFIG_SYSTEM replaces it),
// the global config ($XDG_CONFIG_HOME/git/config or ~/.config/git/config,
// then ~/.gitconfig; GIT_CONFIG_GLOBAL replaces both), then commonDir/config
// when commonDir is not "". Include directives are not followed.
func CoreOption(commonDir, key string, env Env) (string, bool) {
	var files []string
	if !envBool(env.get("GIT_CONFIG_NOSYSTEM")) {
		if s, ok := env.lookup("GIT_CONFIG_SYSTEM"); ok {
			files = append(files, s) // set but empty: no system config, as in git
		} else {
			files = append(files, "/etc/gitconfig")
		}
	}
	if g, ok := env.lookup("GIT_CONFIG_GLOBAL"); ok {
		files = append(files, g) // set but empty: no global config, as in git
	} else {
		home := env.get("HOME")
		if x := env.get("XDG_CONFIG_HOME"); x != "" {
			files = append(files, filepath.Join(x, "git", "config"))
		} else if home != "" {
			files = append(files, filepath.Join(home, ".config", "git", "config"))
		}
		if home != "" {
			files = append(files, filepath.Join(home, ".gitconfig"))
		}
	}
	if commonDir != "" {
		files = append(files, filepath.Join(commonDir, "config"))
	}
	val, found := "", false
	for _, f := range files {
		if f == "" {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		cfg := config.New()
		if err := config.NewDecoder(bytes.NewReader(data)).Decode(cfg); err != nil || !cfg.HasSection("core") {
			continue
		}
		if sec := cfg.Section("core"); sec.HasOption(key) {
			val, found = sec.Option(key), true
		}
	}
	return val, found
}

// envBool reads a boolean environment variable's value as git does: unset
// or empty is false, and so are 0, false, no and off.
func envBool(v string) bool {
	switch strings.ToLower(v) {
	case "", "0", "false", "no", "off":
		return false
	}
	return true
}

// Match applies ps (lowest priority first, as Outer and the .gitignore files
// below it are stacked) to one path given as components from the repository
// top, whose parent directories are known not to be excluded. The last
// matching pattern decides.
func Match(ps []Pattern, comps []string, isDir bool) bool {
	if len(comps) > 0 && comps[len(comps)-1] == ".git" {
		return true
	}
	excluded, _ := last(ps, comps, isDir)
	return excluded
}

// last reports the decision of the last pattern in ps matching comps and
// whether any did match.
func last(ps []Pattern, comps []string, isDir bool) (excluded, decided bool) {
	for i := len(ps) - 1; i >= 0; i-- {
		if m := ps[i].Match(comps, isDir); m != gitignore.NoMatch {
			return m == gitignore.Exclude, true
		}
	}
	return false, false
}
