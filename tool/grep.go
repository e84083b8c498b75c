package tool

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"ocgo/confine"
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

// maxGrepFile bounds the size of a file grep reads.
const maxGrepFile = 10 << 20

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
	var matches []grepMatch
	err = eachFile(ctx, env, dir.rel, func(rel string) bool {
		if !matchInclude(in.Include, rel) {
			return true
		}
		data, mod, ok := readForGrep(root, rel)
		if !ok || bytes.IndexByte(data[:min(len(data), 8192)], 0) >= 0 || !re.Match(data) {
			return true
		}
		f := found{abs: filepath.Join(env.RootPath(), filepath.FromSlash(rel)), mod: mod}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 0, 64*1024), len(data)+1)
		n := 0
		for sc.Scan() {
			n++
			line := strings.TrimSuffix(sc.Text(), "\r")
			if re.MatchString(line) {
				matches = append(matches, grepMatch{file: f, line: n, text: line})
			}
		}
		return true
	})
	if err != nil {
		return Result{}, fsErr(err, in.Path)
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

// readForGrep reads one file through the root (a regular file of at most
// maxGrepFile bytes) and returns it with its modification time.
func readForGrep(root *confine.Root, rel string) ([]byte, int64, bool) {
	f, err := root.Open(filepath.FromSlash(rel))
	if err != nil {
		return nil, 0, false
	}
	defer func() { _ = f.Close() }()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() || info.Size() > maxGrepFile {
		return nil, 0, false
	}
	data, err := io.ReadAll(io.LimitReader(f, maxGrepFile+1))
	if err != nil || len(data) > maxGrepFile {
		return nil, 0, false
	}
	return data, info.ModTime().UnixNano(), true
}
