package tool

import (
	"context"
	"io/fs"
	"os"
	"path"
	"strings"

	"ocgo/confine"
	"ocgo/relpath"
)

// eachFile calls fn with the regular files the search tools see at or below
// dir (an OS path relative to the root), as sorted slash paths relative to
// the root, until fn returns false: the project's file index (Env.Files,
// current up to the call) less what the root denies the tools (ocgo's data
// folder). Files are then opened through the root, so its rules hold even
// for a path the index lists.
func eachFile(ctx context.Context, env Env, dir string, fn func(rel string) bool) error {
	files, err := env.Files(ctx, dir)
	if err != nil {
		return err
	}
	root := env.Root()
	for i, f := range files {
		if i%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if !root.Denied(f) && !fn(f) {
			break
		}
	}
	return nil
}

// under returns rel relative to the slash directory base ("." for the root).
func under(base, rel string) string {
	if base == "." {
		return rel
	}
	return strings.TrimPrefix(rel, base+"/")
}

// dirStat stats files of the root one directory at a time: the directory is
// opened once (an os.Root inside the project's, so nothing outside can be
// reached) and its files are stat'ed by name, which saves resolving every
// path component again for each file. Only metadata is read this way; file
// content is always read through confine.
type dirStat struct {
	root *confine.Root
	dir  string
	r    *os.Root // nil: not opened (or it failed)
	err  error
}

// lstat reports the file rel (a slash path relative to the root) without
// following a final symlink.
func (d *dirStat) lstat(rel string) (fs.FileInfo, error) {
	dir, name := path.Split(rel)
	dir = strings.TrimSuffix(dir, "/")
	if d.r == nil || dir != d.dir {
		d.close()
		d.dir = dir
		d.r, d.err = d.root.OS().OpenRoot(relpath.OS(dir))
	}
	if d.err != nil {
		return nil, d.err
	}
	return d.r.Lstat(name)
}

func (d *dirStat) close() {
	if d.r != nil {
		_ = d.r.Close()
		d.r = nil
	}
}
