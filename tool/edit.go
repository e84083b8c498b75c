package tool

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"

	"ocgo/diff"
)

type editTool struct{}

func (editTool) Info() Info {
	return Info{
		Name:        "edit",
		Description: describe("edit", nil),
		Parameters: map[string]any{
			"filePath":   map[string]any{"type": "string", "description": "The absolute path to the file to modify"},
			"oldString":  map[string]any{"type": "string", "description": "The text to replace"},
			"newString":  map[string]any{"type": "string", "description": "The text to replace it with (must be different from oldString)"},
			"replaceAll": map[string]any{"type": "boolean", "description": "Replace all occurrences of oldString (default false)"},
		},
		Required: []string{"filePath", "oldString", "newString"},
	}
}

type editInput struct {
	FilePath   string  `json:"filePath"`
	OldString  *string `json:"oldString"`
	NewString  *string `json:"newString"`
	ReplaceAll bool    `json:"replaceAll"`
}

func (editTool) Run(ctx context.Context, call Call, env Env) (Result, error) {
	var in editInput
	if err := decode(call.Input, &in); err != nil {
		return Result{}, err
	}
	if err := required("filePath", in.FilePath); err != nil {
		return Result{}, err
	}
	if in.OldString == nil || in.NewString == nil {
		return Result{}, fmt.Errorf("%w: oldString and newString are required", ErrInvalidInput)
	}
	oldS, newS := *in.OldString, *in.NewString
	if oldS == newS {
		return Result{}, fmt.Errorf("%w: oldString and newString must be different", ErrInvalidInput)
	}
	r, err := resolvePath(env, in.FilePath)
	if err != nil {
		return Result{}, err
	}
	root := env.Root()
	var before string
	st, err := root.Stat(r.rel)
	switch {
	case err == nil:
		if st.IsDir() {
			return Result{}, fmt.Errorf("%w: %s is a directory", ErrInvalidInput, in.FilePath)
		}
		if err := assertFresh(env, call, r, st.ModTime()); err != nil {
			return Result{}, err
		}
		b, err := root.ReadFile(r.rel)
		if err != nil {
			return Result{}, fsErr(err, in.FilePath)
		}
		before = string(b)
	case errors.Is(err, fs.ErrNotExist) && oldS == "":
	default:
		return Result{}, fsErr(err, in.FilePath)
	}

	after := newS
	pattern := ""
	if oldS != "" {
		after, err = replaceText(before, oldS, newS, in.ReplaceAll)
		if err != nil {
			return Result{}, err
		}
		pattern = r.abs
	}
	diff := unifiedDiff(r.abs, before, after)
	if err := checkPermission(ctx, env, call, "edit", r.abs, Permission{
		Type:     "edit",
		Pattern:  pattern,
		Title:    "Edit this file: " + r.abs,
		Metadata: map[string]any{"filePath": r.abs, "diff": diff},
	}); err != nil {
		return Result{}, err
	}
	env.Editing(r.abs)
	if err := writeFile(env, root, r.rel, []byte(after)); err != nil {
		return Result{}, fsErr(err, in.FilePath)
	}
	env.Edited(r.abs)
	env.FileRead(call.SessionID, r.abs)
	return Result{
		Title:    relTitle(env, r.abs),
		Output:   "",
		Metadata: map[string]any{"diagnostics": map[string]any{}, "diff": diff},
	}, nil
}

// replaceText replaces oldS by newS in content. Strategies run from strict to
// tolerant; the first that finds anything decides. Each yields the exact
// substrings of content it matched, so the replacement never rewrites text
// the strategy did not match.
func replaceText(content, oldS, newS string, all bool) (string, error) {
	for _, strategy := range []func(string, string) []string{
		exactMatch, trimmedBoundaryMatch, lineTrimmedMatch, indentFlexibleMatch, whitespaceMatch,
		escapeNormalizedMatch, blockAnchorMatch,
	} {
		cands := dedupe(strategy(content, oldS))
		total := 0
		for _, c := range cands {
			total += strings.Count(content, c)
		}
		if total == 0 {
			continue
		}
		if all {
			for _, c := range cands {
				content = strings.ReplaceAll(content, c, newS)
			}
			return content, nil
		}
		if total > 1 {
			return "", fmt.Errorf("%w: %d matches; provide more surrounding lines in oldString to identify the correct match, or set replaceAll", ErrAmbiguous, total)
		}
		return strings.Replace(content, cands[0], newS, 1), nil
	}
	return "", ErrNoMatch
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func exactMatch(content, old string) []string {
	if strings.Contains(content, old) {
		return []string{old}
	}
	return nil
}

func trimmedBoundaryMatch(content, old string) []string {
	t := strings.TrimSpace(old)
	if t != old && t != "" && strings.Contains(content, t) {
		return []string{t}
	}
	return nil
}

// lineWindows returns every block of consecutive content lines (as the exact
// substring, without the final newline) for which eq holds against the
// oldString lines.
func lineWindows(content, old string, eq func(have, want []string) bool) []string {
	want := strings.Split(strings.TrimSuffix(old, "\n"), "\n")
	if strings.TrimSpace(old) == "" {
		return nil
	}
	lines, starts := splitLineStarts(content)
	var out []string
	for i := 0; i+len(want) <= len(lines); i++ {
		if eq(lines[i:i+len(want)], want) {
			end := starts[i+len(want)] - 1
			out = append(out, content[starts[i]:end])
		}
	}
	return out
}

func lineTrimmedMatch(content, old string) []string {
	return lineWindows(content, old, func(have, want []string) bool {
		for j := range want {
			if strings.TrimSpace(have[j]) != strings.TrimSpace(want[j]) {
				return false
			}
		}
		return true
	})
}

func indentFlexibleMatch(content, old string) []string {
	return lineWindows(content, old, func(have, want []string) bool {
		h, w := dedent(have), dedent(want)
		for j := range w {
			if strings.TrimRight(h[j], " \t\r") != strings.TrimRight(w[j], " \t\r") {
				return false
			}
		}
		return true
	})
}

func dedent(lines []string) []string {
	minIndent := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		n := len(l) - len(strings.TrimLeft(l, " \t"))
		if minIndent < 0 || n < minIndent {
			minIndent = n
		}
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		if len(l) >= minIndent && minIndent > 0 && strings.TrimSpace(l) != "" {
			out[i] = l[minIndent:]
		} else {
			out[i] = strings.TrimLeft(l, " \t")
		}
	}
	return out
}

// whitespaceMatch matches the oldString tokens separated by any amount of
// whitespace.
func whitespaceMatch(content, old string) []string {
	toks := strings.Fields(old)
	if len(toks) == 0 {
		return nil
	}
	for i, t := range toks {
		toks[i] = regexp.QuoteMeta(t)
	}
	re, err := regexp.Compile(strings.Join(toks, `\s+`))
	if err != nil {
		return nil
	}
	return re.FindAllString(content, -1)
}

// unescapeModelText undoes the escaping models sometimes apply to code they
// quote: \n, \t, \r, \\, \', \", \` and \$ become the characters
// they stand for, and a backslash before a real newline goes.
func unescapeModelText(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch c := s[i+1]; c {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case '\\', '\'', '"', '`', '$', '\n':
			b.WriteByte(c)
		default:
			b.WriteByte('\\')
			b.WriteByte(c)
		}
		i++
	}
	return b.String()
}

// escapeNormalizedMatch finds oldString after undoing its escapes (a model
// that wrote "\n" for a line break), and the text of the file that, once
// unescaped the same way, equals it.
func escapeNormalizedMatch(content, old string) []string {
	u := unescapeModelText(old)
	if u == old || u == "" {
		return nil
	}
	if strings.Contains(content, u) {
		return []string{u}
	}
	return lineWindows(content, u, func(have, want []string) bool {
		return unescapeModelText(strings.Join(have, "\n")) == strings.Join(want, "\n")
	})
}

// blockAnchorMatch finds a block of at least three lines by its first and
// last lines (compared without surrounding whitespace) when the lines in
// between were misremembered: a block is accepted only if its inner lines
// are at least half similar to oldString's, so an anchor pair around
// unrelated code is not taken. Several accepted blocks are ambiguous, as
// for every strategy.
func blockAnchorMatch(content, old string) []string {
	want := strings.Split(strings.TrimSuffix(old, "\n"), "\n")
	if len(want) < 3 {
		return nil
	}
	first, last := strings.TrimSpace(want[0]), strings.TrimSpace(want[len(want)-1])
	if first == "" || last == "" {
		return nil
	}
	lines, starts := splitLineStarts(content)
	var out []string
	for i := range lines {
		if strings.TrimSpace(lines[i]) != first {
			continue
		}
		for j := i + 2; j < len(lines); j++ {
			if strings.TrimSpace(lines[j]) != last {
				continue
			}
			if blockSimilarity(lines[i+1:j], want[1:len(want)-1]) >= 0.5 {
				out = append(out, content[starts[i]:starts[j+1]-1])
			}
			break // the nearest closing anchor ends this block
		}
	}
	return out
}

// blockSimilarity compares two runs of lines (whitespace-trimmed) by edit
// distance: 1 means equal, 0 nothing in common.
func blockSimilarity(have, want []string) float64 {
	a := strings.TrimSpace(strings.Join(trimAll(have), "\n"))
	b := strings.TrimSpace(strings.Join(trimAll(want), "\n"))
	la, lb := len([]rune(a)), len([]rune(b))
	n := max(la, lb)
	if n == 0 {
		return 1
	}
	// The distance is at least the length difference: skip the quadratic
	// work when it alone rules the block out, or the block is huge.
	if 2*abs(la-lb) > n || n > 20000 {
		return 0
	}
	return 1 - float64(levenshtein(a, b))/float64(n)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func trimAll(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = strings.TrimSpace(l)
	}
	return out
}

// levenshtein is the edit distance between a and b in runes.
func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// unifiedDiff renders the tool's diff: three context lines, headed like the
// original's createTwoFilesPatch output.
func unifiedDiff(name, a, b string) string {
	return diff.Unified(name, a, b, diff.Options{Context: 3})
}

// splitLineStarts splits content at "\n" and gives each line's byte offset
// (plus one past the end), so a run of lines maps back to a substring.
func splitLineStarts(content string) ([]string, []int) {
	lines := strings.Split(content, "\n")
	starts := make([]int, len(lines)+1)
	off := 0
	for i, l := range lines {
		starts[i] = off
		off += len(l) + 1
	}
	starts[len(lines)] = off
	return lines, starts
}
