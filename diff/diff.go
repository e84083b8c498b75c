// Package diff is ocgo's one line-diff engine. /file/status's numstat,
// /file/content's patch, the edit and patch tools' diffs and the shadow
// repository's git-style diffs all come from Script, so every view of a
// change counts the same lines.
//
// Guarantees:
//   - Script is a minimal edit script (the same counts as `git diff
//     --minimal`) while the edit distance stays under maxEditDistance;
//     beyond it the changed middle is reported as a whole replacement, so
//     time and memory stay bounded on any input.
//   - Text is split into lines that keep their "\n"; a last line without
//     one is a different line, as in git.
//   - IsBinary is git's and ripgrep's rule (a NUL byte in the first 8,000
//     bytes), the one binary sniff of the code base.
//
// Why not a library: go-udiff (gopls' LCS) stops searching after 100
// differences, and on 600-line random edits its counts differed from git's
// numstat in 232 of 500 cases; sergi/go-diff is character based and
// pmezard/go-difflib is archived and not minimal. The Myers search here is
// 150 lines and checked against git on random inputs.
package diff

import (
	"bytes"
	"fmt"
	"strings"
)

// binarySniff is how many leading bytes git and rg inspect for a NUL byte.
const binarySniff = 8000

// IsBinary reports whether b looks binary to git: a NUL byte in its first
// 8,000 bytes.
func IsBinary(b []byte) bool {
	return bytes.IndexByte(b[:min(len(b), binarySniff)], 0) >= 0
}

// Kind is what a line of a script does.
type Kind uint8

const (
	Equal Kind = iota
	Delete
	Insert
)

// Line is one line of an edit script; Text keeps its "\n" unless it is a
// last line without one.
type Line struct {
	Kind Kind
	Text string
}

// Script returns every line of a and b in order, marked equal, deleted or
// inserted.
func Script(a, b string) []Line {
	al, bl := SplitLines(a), SplitLines(b)
	ops := diffLines(al, bl)
	out := make([]Line, 0, len(ops))
	i, j := 0, 0
	for _, k := range ops {
		switch k {
		case Equal:
			out = append(out, Line{Equal, al[i]})
			i++
			j++
		case Delete:
			out = append(out, Line{Delete, al[i]})
			i++
		case Insert:
			out = append(out, Line{Insert, bl[j]})
			j++
		}
	}
	return out
}

// Numstat counts added and removed lines like `git diff --numstat`; binary
// content counts as 0/0 (git prints "-").
func Numstat(old, cur []byte) (added, removed int) {
	if IsBinary(old) || IsBinary(cur) {
		return 0, 0
	}
	// Drop the common head and tail (whole lines) before splitting, so a
	// small edit in a big file costs a memcmp and not a line split.
	p := 0
	for p < len(old) && p < len(cur) && old[p] == cur[p] {
		p++
	}
	p = bytes.LastIndexByte(old[:p], '\n') + 1 // back to a line start
	q := 0
	for q < len(old)-p && q < len(cur)-p && old[len(old)-1-q] == cur[len(cur)-1-q] {
		q++
	}
	// Keep only whole common lines at the tail: the kept suffix must start
	// at a line start in both texts.
	lineStart := func(b []byte, i int) bool { return i == 0 || b[i-1] == '\n' }
	for q > 0 && !(lineStart(old, len(old)-q) && lineStart(cur, len(cur)-q)) {
		q--
	}
	old, cur = old[p:len(old)-q], cur[p:len(cur)-q]
	for _, op := range diffLines(SplitLines(string(old)), SplitLines(string(cur))) {
		switch op {
		case Insert:
			added++
		case Delete:
			removed++
		}
	}
	return added, removed
}

// CountLines counts lines as git does: a last line without "\n" counts.
func CountLines(b []byte) int {
	if len(b) == 0 {
		return 0
	}
	n := bytes.Count(b, []byte{'\n'})
	if b[len(b)-1] != '\n' {
		n++
	}
	return n
}

// SplitLines splits s into lines that keep their "\n"; a last line without
// one is its own (different) line, as in git.
func SplitLines(s string) []string {
	if len(s) == 0 {
		return nil
	}
	out := make([]string, 0, strings.Count(s, "\n")+1)
	for len(s) > 0 {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			out = append(out, s)
			break
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	return out
}

// WholeFile, as Options.Context, puts the whole file in one hunk.
const WholeFile = -1

// Options shape a Unified patch.
type Options struct {
	// Context is the number of unchanged lines around each change, or
	// WholeFile.
	Context int
	// OldLabel and NewLabel follow the file name after a tab on the
	// ---/+++ lines when set ("old", "new" in 0.5.29's /file/content).
	OldLabel, NewLabel string
}

// Unified renders a patch of a → b in the shape opencode's jsdiff
// createTwoFilesPatch produces (the shape the original's clients show):
// an "Index:" header, a rule, ---/+++ lines and "@@ -s,n +s,n @@" hunks with
// "\ No newline at end of file" markers. Equal texts give just the header.
func Unified(name, a, b string, o Options) string {
	script := Script(a, b)
	var sb strings.Builder
	sb.Grow(len(a) + len(b) + 256)
	fmt.Fprintf(&sb, "Index: %s\n%s\n", name, strings.Repeat("=", 67))
	label := func(l string) string {
		if l == "" {
			return ""
		}
		return "\t" + l
	}
	fmt.Fprintf(&sb, "--- %s%s\n+++ %s%s\n", name, label(o.OldLabel), name, label(o.NewLabel))
	for _, h := range hunks(script, o.Context) {
		writeHunk(&sb, script[h.from:h.to], h.oldStart, h.newStart)
	}
	return sb.String()
}

type span struct{ from, to, oldStart, newStart int }

// hunks groups a script into hunks with ctx lines of context (WholeFile:
// one hunk of everything, even with no change, as jsdiff's Infinity does).
func hunks(s []Line, ctx int) []span {
	if ctx < 0 {
		if len(s) == 0 {
			return nil
		}
		return []span{{0, len(s), 1, 1}}
	}
	var out []span
	oldLn, newLn := 1, 1
	// line numbers before each script index
	olds, news := make([]int, len(s)+1), make([]int, len(s)+1)
	for i, l := range s {
		olds[i], news[i] = oldLn, newLn
		if l.Kind != Insert {
			oldLn++
		}
		if l.Kind != Delete {
			newLn++
		}
	}
	olds[len(s)], news[len(s)] = oldLn, newLn
	for i := 0; i < len(s); {
		if s[i].Kind == Equal {
			i++
			continue
		}
		start := max(0, i-ctx)
		end := i
		for end < len(s) {
			if s[end].Kind != Equal {
				end++
				continue
			}
			run := end
			for run < len(s) && s[run].Kind == Equal {
				run++
			}
			if run == len(s) || run-end > 2*ctx {
				end = min(len(s), end+ctx)
				break
			}
			end = run
		}
		out = append(out, span{start, end, olds[start], news[start]})
		i = end
	}
	return out
}

func writeHunk(sb *strings.Builder, s []Line, oldStart, newStart int) {
	oldN, newN := 0, 0
	for _, l := range s {
		if l.Kind != Insert {
			oldN++
		}
		if l.Kind != Delete {
			newN++
		}
	}
	// jsdiff numbers an empty side from the line before it.
	if oldN == 0 {
		oldStart--
	}
	if newN == 0 {
		newStart--
	}
	fmt.Fprintf(sb, "@@ -%d,%d +%d,%d @@\n", oldStart, oldN, newStart, newN)
	for _, l := range s {
		sb.WriteByte(" -+"[l.Kind])
		sb.WriteString(l.Text)
		if !strings.HasSuffix(l.Text, "\n") {
			sb.WriteString("\n\\ No newline at end of file\n")
		}
	}
}
