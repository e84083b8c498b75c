package ignore

import (
	"os"
	"strings"
)

// Tree holds the rules of one work tree for incremental use: the patterns
// reaching its root from outside (Repo.Outer) and one pattern list per
// directory below the root that has a .gitignore. It is not safe for
// concurrent mutation; readers may share it while nobody calls Load/Forget.
type Tree struct {
	outer  []Pattern
	prefix []string             // root relative to the repository top
	dirs   map[string][]Pattern // key: dir relative to the root ("" = root)
}

// NewTree returns the rules for the work tree rooted at root, with the
// outer sources loaded and no directory of its own loaded yet. Outside a
// repository only the global excludes file applies. env answers git's
// variables (see Env).
func NewTree(root string, env Env) *Tree {
	t := &Tree{dirs: map[string][]Pattern{}}
	t.outer, t.prefix = ForRoot(root, env)
	return t
}

// ForRoot returns the patterns reaching the directory root from outside it
// (Repo.Outer) and root's components from the repository top. Outside a
// repository only the global excludes file applies, and prefix is nil.
func ForRoot(root string, env Env) (outer []Pattern, prefix []string) {
	if r, ok := FindRepo(root); ok {
		return r.Outer(env), r.PrefixComps()
	}
	return Base("", env), nil
}

// Load (re)reads the .gitignore of the directory rel (relative to the root,
// slash-separated) from f, that file opened without following a link (nil:
// there is none).
func (t *Tree) Load(rel string, f *os.File) {
	domain := t.prefix[:len(t.prefix):len(t.prefix)]
	if rel != "" {
		domain = append(domain, strings.Split(rel, "/")...)
	}
	if ps := ParseFile(f, domain); len(ps) > 0 {
		t.dirs[rel] = ps
	} else {
		delete(t.dirs, rel)
	}
}

// Forget drops the patterns of the directory rel.
func (t *Tree) Forget(rel string) { delete(t.dirs, rel) }

// Match decides whether the single path rel, with components comps, is
// excluded, its parent directories being known not to be: the deepest
// .gitignore with a matching line decides, then the outer sources.
func (t *Tree) Match(rel string, comps []string, isDir bool) bool {
	if comps[len(comps)-1] == ".git" {
		return true
	}
	full := comps
	if len(t.prefix) > 0 {
		full = append(t.prefix[:len(t.prefix):len(t.prefix)], comps...)
	}
	// Deepest directory first; prefixes of rel name the ancestor dirs.
	end := len(rel)
	for depth := len(comps) - 1; depth >= 0 && len(t.dirs) > 0; depth-- {
		end -= len(comps[depth])
		key := ""
		if depth > 0 {
			end-- // the slash before comps[depth]
			key = rel[:end]
		}
		if excluded, ok := last(t.dirs[key], full, isDir); ok {
			return excluded
		}
	}
	excluded, _ := last(t.outer, full, isDir)
	return excluded
}

// Ignored reports whether rel (relative to the root, slash-separated) is
// excluded, itself or through an excluded parent directory, which hides
// everything below it whatever later patterns say.
func (t *Tree) Ignored(rel string, isDir bool) bool {
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
		if t.Match(rel[:n], comps[:i], isDir || i < len(comps)) {
			return true
		}
	}
	return false
}
