package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"
)

// splitFrontMatter separates a leading "---" YAML block from the body. A
// file without front matter is all body; an opened but unclosed block is an
// error rather than silently becoming part of a prompt.
func splitFrontMatter(b []byte) (front []byte, body string, err error) {
	s := strings.ReplaceAll(string(b), "\r\n", "\n")
	s = strings.TrimPrefix(s, "\ufeff")
	if !strings.HasPrefix(s, "---\n") {
		if strings.TrimRight(s, " \t\n") == "---" {
			return nil, "", errors.New("unterminated front matter")
		}
		return nil, strings.TrimSpace(s), nil
	}
	rest := s[len("---\n"):]
	if strings.HasPrefix(rest, "---\n") || rest == "---" {
		return nil, strings.TrimSpace(strings.TrimPrefix(rest, "---")), nil
	}
	end := strings.Index(rest, "\n---\n")
	switch {
	case end >= 0:
		return []byte(rest[:end]), strings.TrimSpace(rest[end+len("\n---\n"):]), nil
	case strings.HasSuffix(rest, "\n---"):
		return []byte(rest[:len(rest)-len("\n---")]), "", nil
	}
	return nil, "", errors.New("unterminated front matter")
}

// parseFrontMatter decodes YAML front matter into JSON-typed values (numbers
// as float64), the form the schema validator expects.
func parseFrontMatter(front []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(front)) == 0 {
		return map[string]any{}, nil
	}
	js, err := yaml.YAMLToJSON(front)
	if err != nil {
		return nil, errors.New("invalid front matter: " + firstLine(err.Error()))
	}
	var v any
	if err := json.Unmarshal(js, &v); err != nil {
		return nil, errors.New("invalid front matter: " + err.Error())
	}
	m, ok := v.(map[string]any)
	if !ok {
		if v == nil {
			return map[string]any{}, nil
		}
		return nil, errors.New("front matter must be a mapping, got " + typeName(v))
	}
	return m, nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// mdFile is one markdown definition found on disk.
type mdFile struct {
	path string
	name string
}

// listMarkdown returns the *.md files under dir; recursive ones are named by
// their slash-separated path without ".md" (agent/sub/x.md → "sub/x").
func listMarkdown(dir string, recursive bool) ([]mdFile, error) {
	var out []mdFile
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return err
		}
		if d.IsDir() {
			if p != dir && !recursive {
				return fs.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(d.Name(), ".md") {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		out = append(out, mdFile{path: p, name: strings.TrimSuffix(filepath.ToSlash(rel), ".md")})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, err
}

// loadMarkdown merges agent/**/*.md, mode/*.md and command/*.md from the
// global config dir and then each project .opencode dir (outermost first, so
// the directory nearest the cwd wins) into m's "agent", "mode", "command".
func (l *loader) loadMarkdown(m map[string]any, projectDirs []string) error {
	var bases []string
	if l.paths.Config != "" {
		bases = append(bases, l.paths.Config)
	}
	for _, d := range projectDirs {
		bases = append(bases, filepath.Join(d, ".opencode"))
	}
	agentSchema := agentConfigSchema()
	cmdSchema := commandSchema()
	for _, base := range bases {
		if st, err := os.Stat(base); err != nil || !st.IsDir() {
			continue
		}
		for _, kind := range []struct {
			dir, field, bodyKey string
			recursive           bool
			schema              *node
		}{
			{"agent", "agent", "prompt", true, agentSchema},
			{"mode", "mode", "prompt", false, agentSchema},
			{"command", "command", "template", false, cmdSchema},
		} {
			files, err := listMarkdown(filepath.Join(base, kind.dir), kind.recursive)
			if err != nil {
				return &Error{Name: NameConfigInvalid, Path: l.display(filepath.Join(base, kind.dir)), Message: "cannot list directory: " + cleanErr(err)}
			}
			for _, f := range files {
				shown := l.display(f.path)
				b, err := l.readLimited(f.path)
				if refused(err) {
					l.log.Warn("Skipping a definition that leads out of the project or is not a regular file", slog.String("path", shown))
					continue
				}
				if err != nil {
					return &Error{Name: NameConfigInvalid, Path: shown, Message: "cannot read file: " + cleanErr(err)}
				}
				front, body, err := splitFrontMatter(b)
				if err != nil {
					return &Error{Name: NameConfigInvalid, Path: shown, Message: err.Error()}
				}
				fm, err := parseFrontMatter(front)
				if err != nil {
					return &Error{Name: NameConfigInvalid, Path: shown, Message: err.Error()}
				}
				fm[kind.bodyKey] = body
				if kind.field == "mode" {
					fm["mode"] = "primary"
				}
				var dropped []string
				clean, is := kind.schema.validate(fm, kind.field+"."+f.name, &dropped)
				if is != nil {
					return &Error{Name: NameConfigInvalid, Path: shown, Key: is.key, Message: is.message}
				}
				l.warnDropped(shown, dropped)
				l.log.Debug("Loaded markdown definition", slog.String("kind", kind.field), slog.String("name", f.name))
				m[kind.field] = mergeDeep(asMap(m[kind.field]), map[string]any{f.name: clean})
			}
		}
	}
	return nil
}

func asMap(v any) map[string]any {
	if m, ok := v.(map[string]any); ok {
		return m
	}
	return map[string]any{}
}
