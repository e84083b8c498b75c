package tool

import (
	"context"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	gitignore "github.com/sabhiram/go-gitignore"
)

// walkEntry is a regular file found by walkFiles.
type walkEntry struct {
	rel  string // slash path relative to the root
	info fs.FileInfo
}

type ignoreLayer struct {
	dir string // slash path of the directory holding the .gitignore ("." for root)
	gi  *gitignore.GitIgnore
}

// walkFiles visits the regular files under dir (a root-relative path) in
// lexical order through the root's file system, skipping .git, anything a
// .gitignore between the root and the file ignores, and directories for
// which skipDir returns true. Symlinks are not followed. fn returns false to
// stop.
func walkFiles(ctx context.Context, root *os.Root, dir string, skipDir func(rel, name string) bool, fn func(walkEntry) bool) error {
	fsys := root.FS()
	start := filepath.ToSlash(dir)
	var layers []ignoreLayer
	// Load the .gitignore files of the directories above dir.
	if start != "." {
		parts := strings.Split(start, "/")
		for i := 0; i < len(parts); i++ {
			d := "."
			if i > 0 {
				d = strings.Join(parts[:i], "/")
			}
			layers = appendIgnore(fsys, layers, d)
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
		if d.IsDir() {
			if p != start {
				if d.Name() == ".git" || ignored(layers, p, true) || (skipDir != nil && skipDir(p, d.Name())) {
					return fs.SkipDir
				}
			}
			// Drop layers of directories we have left, then add this one's.
			for len(layers) > 0 && !within(p, layers[len(layers)-1].dir) {
				layers = layers[:len(layers)-1]
			}
			layers = appendIgnore(fsys, layers, p)
			return nil
		}
		for len(layers) > 0 && !within(path.Dir(p), layers[len(layers)-1].dir) {
			layers = layers[:len(layers)-1]
		}
		if !d.Type().IsRegular() || ignored(layers, p, false) {
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

func appendIgnore(fsys fs.FS, layers []ignoreLayer, dir string) []ignoreLayer {
	data, err := fs.ReadFile(fsys, path.Join(dir, ".gitignore"))
	if err != nil {
		return layers
	}
	return append(layers, ignoreLayer{dir: dir, gi: gitignore.CompileIgnoreLines(strings.Split(string(data), "\n")...)})
}

func ignored(layers []ignoreLayer, p string, isDir bool) bool {
	for _, l := range layers {
		if !within(p, l.dir) {
			continue
		}
		rel := p
		if l.dir != "." {
			rel = strings.TrimPrefix(p, l.dir+"/")
		}
		if l.gi.MatchesPath(rel) || (isDir && l.gi.MatchesPath(rel+"/")) {
			return true
		}
	}
	return false
}
