package tool

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

	"ocgo/diff"
)

type readTool struct{}

// maxReadFile bounds what read loads into memory.
const maxReadFile = 50 << 20

func (readTool) Info() Info {
	return Info{
		Name:        "read",
		Description: describe("read", map[string]any{"read_limit": DefaultReadLimit, "max_line": MaxLineLength}),
		Parameters: map[string]any{
			"filePath": map[string]any{"type": "string", "description": "The path to the file to read"},
			"offset":   map[string]any{"type": "number", "description": "The line number to start reading from (0-based)"},
			"limit":    map[string]any{"type": "number", "description": "The number of lines to read (defaults to 2000)"},
		},
		Required: []string{"filePath"},
	}
}

type readInput struct {
	FilePath string `json:"filePath"`
	Offset   number `json:"offset"`
	Limit    number `json:"limit"`
}

func (readTool) Run(ctx context.Context, call Call, env Env) (Result, error) {
	var in readInput
	if err := decode(call.Input, &in); err != nil {
		return Result{}, err
	}
	if err := required("filePath", in.FilePath); err != nil {
		return Result{}, err
	}
	r, err := resolvePath(env, in.FilePath)
	if err != nil {
		return Result{}, err
	}
	root := env.Root()
	st, err := root.Stat(r.rel)
	if err != nil {
		err = fsErr(err, in.FilePath)
		if sugg := suggest(env, r); len(sugg) > 0 {
			return Result{}, fmt.Errorf("%w\n\nDid you mean one of these?\n%s", err, strings.Join(sugg, "\n"))
		}
		return Result{}, err
	}
	if st.IsDir() {
		return Result{}, fmt.Errorf("%w: %s is a directory; use the list tool", ErrInvalidInput, in.FilePath)
	}
	if st.Size() > maxReadFile {
		return Result{}, fmt.Errorf("%w: %s is larger than %d MB", ErrTooLarge, in.FilePath, maxReadFile>>20)
	}
	f, err := root.Open(r.rel)
	if err != nil {
		return Result{}, fsErr(err, in.FilePath)
	}
	data, err := io.ReadAll(f)
	_ = f.Close()
	if err != nil {
		return Result{}, fsErr(err, in.FilePath)
	}
	if isBinary(r.rel, data) {
		return Result{}, fmt.Errorf("%w: %s", ErrBinary, in.FilePath)
	}
	offset, limit := 0, DefaultReadLimit
	if in.Offset.set && in.Offset.v > 0 {
		offset = int(in.Offset.v)
	}
	if in.Limit.set && in.Limit.v > 0 {
		limit = int(in.Limit.v)
	}
	out, preview := formatLines(string(data), offset, limit)
	env.FileRead(call.SessionID, r.abs)
	return Result{
		Title:    relTitle(env, r.abs),
		Output:   out,
		Metadata: map[string]any{"preview": preview},
	}, nil
}

// formatLines renders the original's numbered view: "<file>\n00001| a\n...".
func formatLines(text string, offset, limit int) (string, string) {
	lines := strings.Split(text, "\n")
	end := min(offset+limit, len(lines))
	start := min(offset, len(lines))
	var b strings.Builder
	b.WriteString("<file>\n")
	var preview []string
	for i := start; i < end; i++ {
		line := truncateLine(lines[i])
		if len(preview) < 20 {
			preview = append(preview, line)
		}
		if i > start {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%05d| %s", i+1, line)
	}
	if len(lines) > end {
		fmt.Fprintf(&b, "\n\n(File has more lines. Use 'offset' parameter to read beyond line %d)", end)
	} else {
		fmt.Fprintf(&b, "\n\n(End of file - total %d lines)", len(lines))
	}
	b.WriteString("\n</file>")
	return b.String(), strings.Join(preview, "\n")
}

// truncateLine cuts a line to MaxLineLength characters (runes), adding "...".
func truncateLine(s string) string {
	if len(s) <= MaxLineLength || utf8.RuneCountInString(s) <= MaxLineLength {
		return s
	}
	n := 0
	for i := range s {
		if n == MaxLineLength {
			return s[:i] + "..."
		}
		n++
	}
	return s
}

var binaryExt = map[string]bool{
	".zip": true, ".tar": true, ".gz": true, ".exe": true, ".dll": true, ".so": true, ".class": true,
	".jar": true, ".war": true, ".7z": true, ".doc": true, ".docx": true, ".xls": true, ".xlsx": true,
	".ppt": true, ".pptx": true, ".odt": true, ".ods": true, ".odp": true, ".bin": true, ".dat": true,
	".obj": true, ".o": true, ".a": true, ".lib": true, ".wasm": true, ".pyc": true, ".pyo": true,
	".png": true, ".jpg": true, ".jpeg": true, ".gif": true, ".bmp": true, ".webp": true, ".ico": true,
	".pdf": true,
}

// isBinary: known binary extensions, a NUL byte, or more than 30 %
// control characters in the first 4 KiB.
func isBinary(name string, data []byte) bool {
	if binaryExt[strings.ToLower(filepath.Ext(name))] {
		return true
	}
	head := data[:min(len(data), 4096)]
	if len(head) == 0 {
		return false
	}
	if diff.IsBinary(head) {
		return true
	}
	ctrl := 0
	for _, c := range head {
		if c < 9 || (c > 13 && c < 32) {
			ctrl++
		}
	}
	return float64(ctrl)/float64(len(head)) > 0.3
}

// suggest lists up to three entries of the missing file's directory whose
// names contain, or are contained in, the missing name.
func suggest(env Env, r resolved) []string {
	dir := filepath.Dir(r.rel)
	base := strings.ToLower(filepath.Base(r.rel))
	d, err := env.Root().Open(dir)
	if err != nil {
		return nil
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil
	}
	sort.Strings(names)
	var out []string
	for _, n := range names {
		l := strings.ToLower(n)
		if strings.Contains(l, base) || strings.Contains(base, l) {
			out = append(out, filepath.Join(filepath.Dir(r.abs), n))
			if len(out) == 3 {
				break
			}
		}
	}
	return out
}
