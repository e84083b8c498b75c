// Package relpath is ocgo's one set of helpers for paths relative to a
// root: whether an OS path lies within a base directory (and where), and
// joining and naming root-relative slash paths, "" standing for the root
// itself. It is purely lexical: symlinks and confinement are confine's job.
package relpath

import (
	"iter"
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

// Rel is Within as a root-relative slash path: p relative to base, ""
// for base itself, when p is base or lies below it, lexically.
func Rel(base, p string) (string, bool) {
	rel, ok := Within(base, p)
	if !ok || rel == "." {
		return "", ok
	}
	return filepath.ToSlash(rel), true
}

// In reports whether p is base or lies below it, lexically.
func In(base, p string) bool {
	_, ok := Within(base, p)
	return ok
}

// Under reports whether the root-relative slash path p is dir or lies
// below it; dir "" or "." is the root, which holds every path.
func Under(dir, p string) bool {
	if dir == "" || dir == "." || p == dir {
		return true
	}
	return len(p) > len(dir) && p[len(dir)] == '/' && strings.HasPrefix(p, dir)
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

// Dir is the directory of a root-relative slash path: "" (the root) for a
// name at the top.
func Dir(rel string) string {
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		return rel[:i]
	}
	return ""
}

// Base is the last element of a root-relative slash path.
func Base(rel string) string { return rel[strings.LastIndexByte(rel, '/')+1:] }

// Up yields rel and then each directory above it, nearest first, down to
// its first element (never "" for the root): "a/b/c", "a/b", "a". It is
// how a path is matched against a set of files and directories that
// cover everything below them.
func Up(rel string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for q := rel; ; {
			if !yield(q) {
				return
			}
			i := strings.LastIndexByte(q, '/')
			if i < 0 {
				return
			}
			q = q[:i]
		}
	}
}
