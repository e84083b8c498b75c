package snapshot

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/format/config"
	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
)

// parseIgnore parses the lines of an ignore file whose patterns apply below
// domain (path components from the repository top).
func parseIgnore(data []byte, domain []string) []gitignore.Pattern {
	var ps []gitignore.Pattern
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if line == "" || strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		ps = append(ps, gitignore.ParsePattern(line, domain))
	}
	return ps
}

func readIgnoreFile(path string, domain []string) []gitignore.Pattern {
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > 4<<20 {
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	return parseIgnore(data, domain)
}

// configValue reads core.<key> from the git config files git consults, later
// files winning: system, XDG, ~/.gitconfig, then the repository's config.
func configValue(proj *projectRepo, key string) (string, bool) {
	var files []string
	if os.Getenv("GIT_CONFIG_NOSYSTEM") == "" {
		files = append(files, "/etc/gitconfig")
	}
	home, _ := os.UserHomeDir()
	if x := os.Getenv("XDG_CONFIG_HOME"); x != "" {
		files = append(files, filepath.Join(x, "git", "config"))
	} else if home != "" {
		files = append(files, filepath.Join(home, ".config", "git", "config"))
	}
	if home != "" {
		files = append(files, filepath.Join(home, ".gitconfig"))
	}
	if g := os.Getenv("GIT_CONFIG_GLOBAL"); g != "" {
		files = append(files, g)
	}
	if proj != nil {
		files = append(files, filepath.Join(proj.commonDir, "config"))
	}
	val, found := "", false
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		cfg := config.New()
		err = config.NewDecoder(fh).Decode(cfg)
		fh.Close()
		if err != nil || !cfg.HasSection("core") {
			continue
		}
		sec := cfg.Section("core")
		if sec.HasOption(key) {
			val, found = sec.Option(key), true
		}
	}
	return val, found
}

// loadGlobalPatterns returns the global excludes file patterns followed by
// the project's info/exclude, in increasing priority, as git applies them.
func loadGlobalPatterns(proj *projectRepo) []gitignore.Pattern {
	home, _ := os.UserHomeDir()
	file, ok := configValue(proj, "excludesfile")
	if ok {
		if strings.HasPrefix(file, "~/") && home != "" {
			file = filepath.Join(home, file[2:])
		}
	} else if x := os.Getenv("XDG_CONFIG_HOME"); x != "" {
		file = filepath.Join(x, "git", "ignore")
	} else if home != "" {
		file = filepath.Join(home, ".config", "git", "ignore")
	}
	var ps []gitignore.Pattern
	if file != "" {
		ps = append(ps, readIgnoreFile(file, nil)...)
	}
	if proj != nil {
		ps = append(ps, readIgnoreFile(filepath.Join(proj.commonDir, "info", "exclude"), nil)...)
	}
	return ps
}

// ignored applies patterns (lowest priority first) to a path given as
// components from the repository top.
func ignored(ps []gitignore.Pattern, comps []string, isDir bool) bool {
	for i := len(ps) - 1; i >= 0; i-- {
		if m := ps[i].Match(comps, isDir); m != gitignore.NoMatch {
			return m == gitignore.Exclude
		}
	}
	return false
}

// attrsRewriteContent reports whether a .gitattributes file may make the
// index hold filtered content (eol conversion, filters), in which case the
// project's index hashes cannot be reused for the raw bytes we store.
func attrsRewriteContent(data []byte) bool {
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		fields := strings.Fields(line)
		for _, a := range fields[1:] {
			switch {
			case a == "text", strings.HasPrefix(a, "text="), strings.HasPrefix(a, "eol="),
				a == "crlf", strings.HasPrefix(a, "filter="), a == "ident",
				strings.HasPrefix(a, "working-tree-encoding="):
				return true
			}
		}
	}
	return false
}
