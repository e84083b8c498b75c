package watcher

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/format/config"
	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
)

// rules holds git's ignore sources in increasing priority: global excludes,
// .git/info/exclude, then one pattern list per directory holding a .gitignore.
type rules struct {
	base   []gitignore.Pattern            // global + info/exclude, lowest priority first
	perDir map[string][]gitignore.Pattern // key: dir relative to root ("" = root)
}

func newRules(root string) *rules {
	r := &rules{perDir: map[string][]gitignore.Pattern{}}
	r.base = append(r.base, globalPatterns()...)
	if gd := gitCommonDir(root); gd != "" {
		r.base = append(r.base, readPatternFile(filepath.Join(gd, "info", "exclude"), nil)...)
	}
	return r
}

// gitCommonDir returns the repository directory holding info/exclude for the
// work tree at root: root/.git, or the common dir of a linked work tree.
func gitCommonDir(root string) string {
	dotgit := filepath.Join(root, ".git")
	fi, err := os.Stat(dotgit)
	if err != nil {
		return ""
	}
	if fi.IsDir() {
		return dotgit
	}
	b, err := os.ReadFile(dotgit)
	if err != nil {
		return ""
	}
	line := strings.TrimSpace(string(b))
	gd, ok := strings.CutPrefix(line, "gitdir:")
	if !ok {
		return ""
	}
	gd = strings.TrimSpace(gd)
	if !filepath.IsAbs(gd) {
		gd = filepath.Join(root, gd)
	}
	if c, err := os.ReadFile(filepath.Join(gd, "commondir")); err == nil {
		cd := strings.TrimSpace(string(c))
		if !filepath.IsAbs(cd) {
			cd = filepath.Join(gd, cd)
		}
		return filepath.Clean(cd)
	}
	return gd
}

// globalPatterns reads core.excludesFile from the system and user git config,
// falling back to git's XDG default ($XDG_CONFIG_HOME/git/ignore or
// ~/.config/git/ignore) when the user did not set the key.
func globalPatterns() []gitignore.Pattern {
	home, _ := os.UserHomeDir()
	xdg := os.Getenv("XDG_CONFIG_HOME")
	if xdg == "" && home != "" {
		xdg = filepath.Join(home, ".config")
	}
	excludes := ""
	for _, cfg := range []string{"/etc/gitconfig", filepath.Join(xdg, "git", "config"), filepath.Join(home, ".gitconfig")} {
		if cfg == "" || (home == "" && cfg == ".gitconfig") {
			continue
		}
		if v := readExcludesFile(cfg); v != "" {
			excludes = v // later files win, as in git
		}
	}
	if excludes == "" {
		if xdg == "" {
			return nil
		}
		excludes = filepath.Join(xdg, "git", "ignore")
	}
	if strings.HasPrefix(excludes, "~/") && home != "" {
		excludes = filepath.Join(home, excludes[2:])
	}
	return readPatternFile(excludes, nil)
}

func readExcludesFile(cfgPath string) string {
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		return ""
	}
	raw := config.New()
	if err := config.NewDecoder(bytes.NewReader(b)).Decode(raw); err != nil {
		return ""
	}
	return raw.Section("core").Options.Get("excludesfile")
}

// readPatternFile parses one ignore file; domain is the directory holding it.
func readPatternFile(path string, domain []string) []gitignore.Pattern {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	return parsePatterns(b, domain)
}

func parsePatterns(b []byte, domain []string) []gitignore.Pattern {
	var ps []gitignore.Pattern
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		s := strings.TrimSuffix(sc.Text(), "\r")
		if strings.HasPrefix(s, "#") || strings.TrimSpace(s) == "" {
			continue
		}
		ps = append(ps, gitignore.ParsePattern(s, domain))
	}
	return ps
}

// matchOne decides whether the single path comps (whose ancestors are known
// not to be ignored) is ignored, with the most specific source deciding.
func (r *rules) matchOne(rel string, comps []string, isDir bool) bool {
	if comps[len(comps)-1] == ".git" {
		return true
	}
	// Deepest directory first: its patterns have the highest priority.
	// rel is comps joined by "/"; prefixes of it name the ancestor dirs.
	end := len(rel)
	for depth := len(comps) - 1; depth >= 0 && len(r.perDir) > 0; depth-- {
		end -= len(comps[depth])
		key := ""
		if depth > 0 {
			end-- // the slash before comps[depth]
			key = rel[:end]
		}
		ps := r.perDir[key]
		for i := len(ps) - 1; i >= 0; i-- {
			switch ps[i].Match(comps, isDir) {
			case gitignore.Exclude:
				return true
			case gitignore.Include:
				return false
			}
		}
	}
	for i := len(r.base) - 1; i >= 0; i-- {
		switch r.base[i].Match(comps, isDir) {
		case gitignore.Exclude:
			return true
		case gitignore.Include:
			return false
		}
	}
	return false
}

// ignored applies git's rule that an excluded directory hides everything
// below it, whatever later patterns say.
func (r *rules) ignored(rel string, isDir bool) bool {
	rel = strings.Trim(rel, "/")
	if rel == "" || rel == "." {
		return false
	}
	comps := strings.Split(rel, "/")
	n := 0
	for i := 1; i <= len(comps); i++ {
		n += len(comps[i-1])
		if i > 1 {
			n++
		}
		d := isDir || i < len(comps)
		if r.matchOne(rel[:n], comps[:i], d) {
			return true
		}
	}
	return false
}
