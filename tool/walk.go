package tool

import (
	"context"
	"io/fs"
	"path"
	"path/filepath"
	"strings"

	"ocgo/confine"
	"ocgo/ignore"
)

// walkEntry is a regular file found by walkFiles.
type walkEntry struct {
	rel  string // slash path relative to the root
	info fs.FileInfo
}

// ignoreLayer is the pattern stack in force inside dir: the outer sources
// and every .gitignore from the top down to dir, lowest priority first.
type ignoreLayer struct {
	dir  string // slash path relative to the root ("." for the root)
	pats []ignore.Pattern
}

// walkFiles visits the regular files under dir (a root-relative path) in
// lexical order through the root's file system, skipping .git, anything git
// ignores (package ignore: .gitignore files, info/exclude, global excludes),
// and directories for which skipDir returns true. Symlinks are not followed.
// fn returns false to stop.
func walkFiles(ctx context.Context, root *confine.Root, dir string, skipDir func(rel, name string) bool, fn func(walkEntry) bool) error {
	fsys := root.FS()
	start := filepath.ToSlash(dir)
	outer, prefix := ignore.ForRoot(root.Name())
	comps := func(p string) []string {
		c := prefix[:len(prefix):len(prefix)]
		if p != "." {
			c = append(c, strings.Split(p, "/")...)
		}
		return c
	}
	layers := []ignoreLayer{{dir: ".", pats: outer}}
	// Stack the .gitignore files of the directories above dir.
	if start != "." {
		parts := strings.Split(start, "/")
		for i := range parts {
			d := "."
			if i > 0 {
				d = strings.Join(parts[:i], "/")
			}
			layers = pushIgnore(fsys, layers, d, comps(d))
		}
	}
	return fs.WalkDir(fsys, start, func(p string, d fs.DirEntry, err error) error {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		if err != nil {
			if p == start {
				return err
			}
			return nil
		}
		parent := path.Dir(p)
		if p == start {
			parent = p
		}
		// Drop the layers of directories we have left.
		for len(layers) > 1 && !within(parent, layers[len(layers)-1].dir) {
			layers = layers[:len(layers)-1]
		}
		if p != start && root.Denied(p) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		cs := comps(p)
		if d.IsDir() {
			if p != start {
				if ignore.Match(layers[len(layers)-1].pats, cs, true) || (skipDir != nil && skipDir(p, d.Name())) {
					return fs.SkipDir
				}
			}
			layers = pushIgnore(fsys, layers, p, cs)
			return nil
		}
		if !d.Type().IsRegular() || ignore.Match(layers[len(layers)-1].pats, cs, false) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if !fn(walkEntry{rel: p, info: info}) {
			return fs.SkipAll
		}
		return nil
	})
}

func within(p, dir string) bool {
	return dir == "." || p == dir || strings.HasPrefix(p, dir+"/")
}

// pushIgnore adds the layer of dir when it has a .gitignore; domain is dir's
// components from the repository top.
func pushIgnore(fsys fs.FS, layers []ignoreLayer, dir string, domain []string) []ignoreLayer {
	own := ignore.ReadGitignoreFS(fsys, dir, domain)
	if len(own) == 0 {
		return layers
	}
	top := layers[len(layers)-1].pats
	return append(layers, ignoreLayer{dir: dir, pats: append(top[:len(top):len(top)], own...)})
}
