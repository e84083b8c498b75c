// Package relpath is ocgo's one set of helpers for paths relative to a
// root: whether an OS path lies within a base directory (and where), and
// joining and naming root-relative slash paths, "" standing for the root
// itself. It is purely lexical: symlinks and confinement are confine's job.
package relpath

import (
	"path/filepath"
	"strings"
)

// Within returns p relative to base (OS separators, "." for base itself)
// when p is base or lies below it, lexically.
func Within(base, p string) (string, bool) {
	rel, err := filepath.Rel(base, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", false
	}
	return rel, true
}

// Join joins a root-relative slash directory ("" for the root) and a name.
func Join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// OS turns a root-relative slash path ("" for the root) into the OS name
// an os.Root (or confine.Root) opens: "." for the root.
func OS(rel string) string {
	if rel == "" {
		return "."
	}
	return filepath.FromSlash(rel)
}
