package tool

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"ocgo/search"
)

type grepTool struct{}

func (grepTool) Info() Info {
	return Info{
		Name:        "grep",
		Description: describe("grep", map[string]any{"result_limit": ResultLimit}),
		Parameters: map[string]any{
			"pattern": map[string]any{"type": "string", "description": "The regex pattern to search for in file contents"},
			"path":    map[string]any{"type": "string", "description": "The directory to search in. Defaults to the current working directory."},
			"include": map[string]any{"type": "string", "description": "File pattern to include in the search (e.g. \"*.js\", \"*.{ts,tsx}\")"},
		},
		Required: []string{"pattern"},
	}
}

type grepInput struct {
	Pattern string `json:"pattern"`
	Path    string `json:"path"`
	Include string `json:"include"`
}

type grepMatch struct {
	file found
	line int
	text string
}

// Run searches with the project's search engine (Env.Grep: search's
// reader and trigram index), then orders the matching lines as the
// original does: most recently modified file first, then by path, at most
// ResultLimit lines.
func (grepTool) Run(ctx context.Context, call Call, env Env) (Result, error) {
	var in grepInput
	if err := decode(call.Input, &in); err != nil {
		return Result{}, err
	}
	if err := required("pattern", in.Pattern); err != nil {
		return Result{}, err
	}
	re, err := regexp.Compile(in.Pattern)
	if err != nil {
		return Result{}, fmt.Errorf("%w: invalid regular expression: %v", ErrInvalidInput, err)
	}
	dir, err := searchDir(env, in.Path)
	if err != nil {
		return Result{}, err
	}
	root := env.Root()
	files, err := env.Grep(ctx, search.LineQuery{
		Regexp: re,
		Dir:    dir.rel,
		Keep: func(rel string) bool {
			return !root.Denied(rel) && matchInclude(in.Include, rel)
		},
		// One line more than shown is enough to tell the list was cut.
		MaxPerFile: ResultLimit + 1,
		Newest:     ResultLimit + 1,
	})
	if err != nil {
		return Result{}, fsErr(err, in.Path)
	}
	var matches []grepMatch
	for _, fl := range files {
		f := found{abs: filepath.Join(env.RootPath(), filepath.FromSlash(fl.Path)), mod: fl.ModTime}
		for _, l := range fl.Lines {
			matches = append(matches, grepMatch{file: f, line: l.Number, text: l.Text})
		}
	}
	sort.SliceStable(matches, func(i, j int) bool {
		a, b := matches[i].file, matches[j].file
		if a.mod != b.mod {
			return a.mod > b.mod
		}
		return a.abs < b.abs
	})
	truncated := len(matches) > ResultLimit
	if truncated {
		matches = matches[:ResultLimit]
	}
	if len(matches) == 0 {
		return Result{Title: in.Pattern, Output: "No files found", Metadata: map[string]any{"matches": 0, "truncated": false}}, nil
	}
	out := []string{fmt.Sprintf("Found %d matches", len(matches))}
	cur := ""
	for _, m := range matches {
		if m.file.abs != cur {
			if cur != "" {
				out = append(out, "")
			}
			cur = m.file.abs
			out = append(out, cur+":")
		}
		out = append(out, fmt.Sprintf("  Line %d: %s", m.line, truncateLine(m.text)))
	}
	if truncated {
		out = append(out, "", "(Results are truncated. Consider using a more specific path or pattern.)")
	}
	return Result{
		Title:    in.Pattern,
		Output:   strings.Join(out, "\n"),
		Metadata: map[string]any{"matches": len(matches), "truncated": truncated},
	}, nil
}
