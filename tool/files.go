package tool

import (
	"context"
	"strings"
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
