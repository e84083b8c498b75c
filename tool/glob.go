package tool

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

type globTool struct{}

func (globTool) Info() Info {
	return Info{
		Name:        "glob",
		Description: describe("glob", map[string]any{"result_limit": ResultLimit}),
		Parameters: map[string]any{
			"pattern": map[string]any{"type": "string", "description": "The glob pattern to match files against"},
			"path": map[string]any{"type": "string", "description": "The directory to search in. If not specified, the current working directory will be used. " +
				"IMPORTANT: Omit this field to use the default directory. DO NOT enter \"undefined\" or \"null\" - simply omit it for the default behavior. Must be a valid directory path if provided."},
		},
		Required: []string{"pattern"},
	}
}

type globInput struct {
	Pattern string `json:"pattern"`
	Path    string `json:"path"`
}

type found struct {
	abs string
	mod int64
}

func (globTool) Run(ctx context.Context, call Call, env Env) (Result, error) {
	var in globInput
	if err := decode(call.Input, &in); err != nil {
		return Result{}, err
	}
	if err := required("pattern", in.Pattern); err != nil {
		return Result{}, err
	}
	if !doublestar.ValidatePattern(in.Pattern) {
		return Result{}, fmt.Errorf("%w: invalid glob pattern %q", ErrInvalidInput, in.Pattern)
	}
	dir, err := searchDir(env, in.Path)
	if err != nil {
		return Result{}, err
	}
	pattern := strings.TrimPrefix(in.Pattern, "./")
	if filepath.IsAbs(pattern) {
		// An absolute pattern is taken relative to the search directory.
		rel, err := filepath.Rel(dir.abs, pattern)
		if err != nil || strings.HasPrefix(rel, "..") {
			return Result{}, fmt.Errorf("%w: %s", ErrOutsideRoot, in.Pattern)
		}
		pattern = filepath.ToSlash(rel)
	}
	base := filepath.ToSlash(dir.rel)
	st := &dirStat{root: env.Root()}
	defer st.close()
	var files []found
	err = eachFile(ctx, env, dir.rel, func(rel string) bool {
		if ok, _ := doublestar.Match(pattern, under(base, rel)); !ok {
			return true
		}
		info, err := st.lstat(rel)
		if err != nil || !info.Mode().IsRegular() {
			return true // gone, or replaced, since the index listed it
		}
		files = append(files, found{abs: filepath.Join(env.RootPath(), filepath.FromSlash(rel)), mod: info.ModTime().UnixNano()})
		return true
	})
	if err != nil {
		return Result{}, fsErr(err, in.Path)
	}
	sortByMod(files)
	truncated := len(files) > ResultLimit
	if truncated {
		files = files[:ResultLimit]
	}
	var out []string
	if len(files) == 0 {
		out = append(out, "No files found")
	}
	for _, f := range files {
		out = append(out, f.abs)
	}
	if truncated {
		out = append(out, "", "(Results are truncated. Consider using a more specific path or pattern.)")
	}
	return Result{
		Title:    relTitle(env, dir.abs),
		Output:   strings.Join(out, "\n"),
		Metadata: map[string]any{"count": len(files), "truncated": truncated},
	}, nil
}

// sortByMod orders files newest first, then by path for stability.
func sortByMod(files []found) {
	sort.SliceStable(files, func(i, j int) bool {
		if files[i].mod != files[j].mod {
			return files[i].mod > files[j].mod
		}
		return files[i].abs < files[j].abs
	})
}

// searchDir resolves an optional directory input and checks it is one.
func searchDir(env Env, p string) (resolved, error) {
	r, err := resolvePath(env, p)
	if err != nil {
		return r, err
	}
	st, err := env.Root().Stat(r.rel)
	if err != nil {
		return r, fsErr(err, p)
	}
	if !st.IsDir() {
		return r, fmt.Errorf("%w: %s is not a directory", ErrInvalidInput, p)
	}
	return r, nil
}

// matchInclude matches grep's include filter: against the base name, or the
// relative path when the pattern has a slash.
func matchInclude(pattern, rel string) bool {
	if pattern == "" {
		return true
	}
	target := path.Base(rel)
	if strings.Contains(pattern, "/") {
		target = rel
	}
	ok, _ := doublestar.Match(pattern, target)
	return ok
}
