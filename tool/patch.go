package tool

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
)

type patchTool struct{}

func (patchTool) Info() Info {
	return Info{
		Name:        "patch",
		Description: describe("patch", nil),
		Parameters: map[string]any{
			"patchText": map[string]any{"type": "string", "description": "The full patch text that describes all changes to be made"},
		},
		Required:          []string{"patchText"},
		DisabledByDefault: true,
	}
}

type patchOp struct {
	kind   byte // 'A', 'U', 'D'
	path   string
	moveTo string
	add    []string // Add File content lines
	chunks []patchChunk
}

type patchChunk struct {
	context string
	old     []string
	new     []string
	eof     bool
}

// parsePatch parses the "*** Begin Patch" format.
func parsePatch(text string) ([]patchOp, error) {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	i := 0
	for i < len(lines) && strings.TrimSpace(lines[i]) != "*** Begin Patch" {
		i++
	}
	if i == len(lines) {
		return nil, fmt.Errorf("%w: patch must start with *** Begin Patch", ErrInvalidInput)
	}
	i++
	var ops []patchOp
	ended := false
	for i < len(lines) && !ended {
		line := strings.TrimRight(lines[i], " ")
		switch {
		case line == "*** End Patch":
			ended = true
			i++
		case strings.HasPrefix(line, "*** Add File: "):
			op := patchOp{kind: 'A', path: strings.TrimSpace(strings.TrimPrefix(line, "*** Add File: "))}
			i++
			for i < len(lines) && !strings.HasPrefix(lines[i], "*** ") {
				if l, ok := strings.CutPrefix(lines[i], "+"); ok {
					op.add = append(op.add, l)
				} else if strings.TrimSpace(lines[i]) != "" {
					return nil, fmt.Errorf("%w: line %d: added file lines must start with +", ErrInvalidInput, i+1)
				}
				i++
			}
			ops = append(ops, op)
		case strings.HasPrefix(line, "*** Delete File: "):
			ops = append(ops, patchOp{kind: 'D', path: strings.TrimSpace(strings.TrimPrefix(line, "*** Delete File: "))})
			i++
		case strings.HasPrefix(line, "*** Update File: "):
			op := patchOp{kind: 'U', path: strings.TrimSpace(strings.TrimPrefix(line, "*** Update File: "))}
			i++
			if i < len(lines) && strings.HasPrefix(lines[i], "*** Move to: ") {
				op.moveTo = strings.TrimSpace(strings.TrimPrefix(lines[i], "*** Move to: "))
				i++
			}
			var cur *patchChunk
			for i < len(lines) {
				l := lines[i]
				if l == "*** End of File" {
					if cur != nil {
						cur.eof = true
					}
					i++
					continue
				}
				if strings.HasPrefix(l, "*** ") {
					break
				}
				if strings.HasPrefix(l, "@@") {
					op.chunks = append(op.chunks, patchChunk{context: strings.TrimSpace(strings.TrimPrefix(l, "@@"))})
					cur = &op.chunks[len(op.chunks)-1]
					i++
					continue
				}
				if cur == nil {
					op.chunks = append(op.chunks, patchChunk{})
					cur = &op.chunks[len(op.chunks)-1]
				}
				switch {
				case l == "":
					cur.old = append(cur.old, "")
					cur.new = append(cur.new, "")
				case l[0] == ' ':
					cur.old = append(cur.old, l[1:])
					cur.new = append(cur.new, l[1:])
				case l[0] == '-':
					cur.old = append(cur.old, l[1:])
				case l[0] == '+':
					cur.new = append(cur.new, l[1:])
				default:
					return nil, fmt.Errorf("%w: line %d: hunk lines must start with space, - or +", ErrInvalidInput, i+1)
				}
				i++
			}
			if len(op.chunks) == 0 && op.moveTo == "" {
				return nil, fmt.Errorf("%w: update of %s has no hunks", ErrInvalidInput, op.path)
			}
			ops = append(ops, op)
		case strings.TrimSpace(line) == "":
			i++
		default:
			return nil, fmt.Errorf("%w: line %d: unexpected %q", ErrInvalidInput, i+1, line)
		}
	}
	if !ended {
		return nil, fmt.Errorf("%w: patch must end with *** End Patch", ErrInvalidInput)
	}
	if len(ops) == 0 {
		return nil, fmt.Errorf("%w: patch contains no file operations", ErrInvalidInput)
	}
	return ops, nil
}

// applyChunks applies update hunks to content.
func applyChunks(content string, chunks []patchChunk) (string, error) {
	lines := strings.Split(content, "\n")
	trailingNL := len(lines) > 0 && lines[len(lines)-1] == ""
	if trailingNL {
		lines = lines[:len(lines)-1]
	}
	cursor := 0
	for n, ch := range chunks {
		if ch.context != "" {
			idx := findLines(lines, []string{ch.context}, cursor, false)
			if idx < 0 {
				return "", fmt.Errorf("%w: hunk %d: context line %q not found", ErrNoMatch, n+1, ch.context)
			}
			cursor = idx + 1
		}
		old, repl := ch.old, ch.new
		// Trailing empty context lines often stand for the end of file.
		for len(old) > 0 && old[len(old)-1] == "" && findLines(lines, old, cursor, ch.eof) < 0 {
			old = old[:len(old)-1]
			if len(repl) > 0 && repl[len(repl)-1] == "" {
				repl = repl[:len(repl)-1]
			}
		}
		var idx int
		if len(old) == 0 {
			idx = len(lines)
			if ch.context != "" {
				idx = cursor
			}
		} else if idx = findLines(lines, old, cursor, ch.eof); idx < 0 {
			return "", fmt.Errorf("%w: hunk %d: lines not found:\n%s", ErrNoMatch, n+1, strings.Join(old, "\n"))
		}
		next := append([]string{}, lines[:idx]...)
		next = append(next, repl...)
		next = append(next, lines[idx+len(old):]...)
		lines = next
		cursor = idx + len(repl)
	}
	out := strings.Join(lines, "\n")
	if trailingNL || len(lines) > 0 {
		out += "\n"
	}
	return out, nil
}

// findLines finds want in lines at or after from: exact, then ignoring
// trailing whitespace, then ignoring surrounding whitespace. With eof the
// match at the end of the file is preferred.
func findLines(lines, want []string, from int, eof bool) int {
	norms := []func(string) string{
		func(s string) string { return s },
		func(s string) string { return strings.TrimRight(s, " \t\r") },
		strings.TrimSpace,
	}
	for _, norm := range norms {
		if eof {
			if i := len(lines) - len(want); i >= from && eqLines(lines[i:], want, norm) {
				return i
			}
		}
		for i := from; i+len(want) <= len(lines); i++ {
			if eqLines(lines[i:i+len(want)], want, norm) {
				return i
			}
		}
	}
	return -1
}

func eqLines(have, want []string, norm func(string) string) bool {
	for j := range want {
		if norm(have[j]) != norm(want[j]) {
			return false
		}
	}
	return true
}

type patchChange struct {
	kind        byte
	src, dst    resolved
	before, out string
}

type patchInput struct {
	PatchText string `json:"patchText"`
}

func (patchTool) Run(ctx context.Context, call Call, env Env) (Result, error) {
	var in patchInput
	if err := decode(call.Input, &in); err != nil {
		return Result{}, err
	}
	if err := required("patchText", in.PatchText); err != nil {
		return Result{}, err
	}
	ops, err := parsePatch(in.PatchText)
	if err != nil {
		return Result{}, err
	}
	root := env.Root()
	// Check everything before writing anything.
	var changes []patchChange
	for _, op := range ops {
		src, err := resolvePath(env, op.path)
		if err != nil {
			return Result{}, err
		}
		ch := patchChange{kind: op.kind, src: src, dst: src}
		if op.moveTo != "" {
			if ch.dst, err = resolvePath(env, op.moveTo); err != nil {
				return Result{}, err
			}
		}
		data, err := root.ReadFile(src.rel)
		switch {
		case op.kind == 'A':
			if err == nil {
				return Result{}, fmt.Errorf("%w: %s already exists; use *** Update File", ErrInvalidInput, op.path)
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return Result{}, fsErr(err, op.path)
			}
			ch.out = strings.Join(op.add, "\n")
			if len(op.add) > 0 {
				ch.out += "\n"
			}
		case err != nil:
			return Result{}, fsErr(err, op.path)
		case op.kind == 'D':
			ch.before = string(data)
		default:
			ch.before = string(data)
			if ch.out, err = applyChunks(ch.before, op.chunks); err != nil {
				return Result{}, fmt.Errorf("%s: %w", op.path, err)
			}
		}
		changes = append(changes, ch)
	}
	var diff strings.Builder
	action := Allow
	for _, ch := range changes {
		diff.WriteString(unifiedDiff(ch.dst.abs, ch.before, ch.out))
		for _, p := range []string{ch.src.abs, ch.dst.abs} {
			action = stricter(action, env.Permission("edit", p))
		}
	}
	title := fmt.Sprintf("Apply patch to %d files", len(changes))
	switch action {
	case Deny:
		return Result{}, fmt.Errorf("%w: %s", ErrDenied, title)
	case Ask:
		if err := env.Ask(ctx, call, Permission{Type: "edit", Title: title, Metadata: map[string]any{"diff": diff.String()}}); err != nil {
			return Result{}, err
		}
	}
	var touched []string
	for _, ch := range changes {
		touched = append(touched, ch.src.abs)
		if ch.dst.abs != ch.src.abs {
			touched = append(touched, ch.dst.abs)
		}
	}
	env.Editing(touched...)
	summary := []string{}
	for _, ch := range changes {
		var err error
		switch ch.kind {
		case 'D':
			err = root.Remove(ch.src.rel)
			summary = append(summary, "  D "+relTitle(env, ch.src.abs))
		default:
			err = writeFile(env, root, ch.dst.rel, []byte(ch.out))
			if err == nil && ch.dst.rel != ch.src.rel {
				err = root.Remove(ch.src.rel)
				env.Edited(ch.src.abs)
			}
			letter := "M"
			if ch.kind == 'A' {
				letter = "A"
			}
			summary = append(summary, "  "+letter+" "+relTitle(env, ch.dst.abs))
		}
		if err != nil {
			return Result{}, fsErr(err, relTitle(env, ch.dst.abs))
		}
		env.Edited(ch.dst.abs)
		if ch.kind != 'D' {
			env.FileRead(call.SessionID, ch.dst.abs)
		}
	}
	return Result{
		Title:    fmt.Sprintf("%d files changed", len(changes)),
		Output:   fmt.Sprintf("Patch applied successfully. %d files changed:\n%s", len(changes), strings.Join(summary, "\n")),
		Metadata: map[string]any{"diff": diff.String()},
	}, nil
}
