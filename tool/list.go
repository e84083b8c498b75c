package tool

import (
	"context"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

type listTool struct{}

// listIgnoredDirs are skipped by list whatever .gitignore says.
var listIgnoredDirs = map[string]bool{
	"node_modules": true, "__pycache__": true, ".git": true, "dist": true, "build": true, "target": true,
	"vendor": true, "bin": true, "obj": true, ".idea": true, ".vscode": true, ".zig-cache": true,
	"zig-out": true, ".coverage": true, "coverage": true, "tmp": true, "temp": true, ".cache": true,
	"cache": true, "logs": true, ".venv": true, "venv": true, "env": true,
}

func (listTool) Info() Info {
	return Info{
		Name:        "list",
		Description: describe("list", map[string]any{"result_limit": ResultLimit}),
		Parameters: map[string]any{
			"path":   map[string]any{"type": "string", "description": "The absolute path to the directory to list (must be absolute, not relative)"},
			"ignore": map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "description": "List of glob patterns to ignore"},
		},
	}
}

type listInput struct {
	Path   string   `json:"path"`
	Ignore []string `json:"ignore"`
}

func (listTool) Run(ctx context.Context, call Call, env Env) (Result, error) {
	var in listInput
	if err := decode(call.Input, &in); err != nil {
		return Result{}, err
	}
	dir, err := searchDir(env, in.Path)
	if err != nil {
		return Result{}, err
	}
	base := filepath.ToSlash(dir.rel)
	userIgnored := func(rel string, isDir bool) bool {
		for _, pat := range in.Ignore {
			pat = strings.TrimSuffix(pat, "/")
			for _, cand := range []string{rel, path.Base(rel)} {
				if ok, _ := doublestar.Match(pat, cand); ok {
					return true
				}
			}
			if isDir {
				if ok, _ := doublestar.Match(pat, rel+"/"); ok {
					return true
				}
			}
		}
		return false
	}
	// A directory is skipped with everything below it.
	skipped := map[string]bool{}
	var dirSkipped func(d string) bool
	dirSkipped = func(d string) bool {
		if d == "." {
			return false
		}
		v, ok := skipped[d]
		if !ok {
			v = listIgnoredDirs[path.Base(d)] || userIgnored(d, true) || dirSkipped(path.Dir(d))
			skipped[d] = v
		}
		return v
	}
	var files []string
	err = eachFile(ctx, env, dir.rel, func(p string) bool {
		rel := under(base, p)
		if dirSkipped(path.Dir(rel)) || userIgnored(rel, false) {
			return true
		}
		files = append(files, rel)
		return len(files) < ResultLimit
	})
	if err != nil {
		return Result{}, fsErr(err, in.Path)
	}
	return Result{
		Title:    relTitle(env, dir.abs),
		Output:   dir.abs + "/\n" + renderTree(files),
		Metadata: map[string]any{"count": len(files), "truncated": len(files) >= ResultLimit},
	}, nil
}

// renderTree prints slash paths as the original's indented tree: two spaces
// per level, directories (with a trailing slash) before files.
func renderTree(files []string) string {
	dirs := map[string][]string{}
	byDir := map[string][]string{}
	seen := map[string]bool{".": true}
	for _, f := range files {
		d := path.Dir(f)
		byDir[d] = append(byDir[d], path.Base(f))
		for d != "." && !seen[d] {
			seen[d] = true
			parent := path.Dir(d)
			dirs[parent] = append(dirs[parent], d)
			d = parent
		}
	}
	var b strings.Builder
	var render func(d string, depth int)
	render = func(d string, depth int) {
		if depth > 0 {
			b.WriteString(strings.Repeat("  ", depth) + path.Base(d) + "/\n")
		}
		children := dirs[d]
		sort.Strings(children)
		for _, c := range children {
			render(c, depth+1)
		}
		names := byDir[d]
		sort.Strings(names)
		for _, n := range names {
			b.WriteString(strings.Repeat("  ", depth+1) + n + "\n")
		}
	}
	render(".", 0)
	return b.String()
}
