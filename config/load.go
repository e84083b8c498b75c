package config

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/tailscale/hujson"

	"ocgo/confine"
	"ocgo/relpath"
)

// Paths are the directories Load reads from. All are absolute.
type Paths struct {
	Home   string
	Config string // $XDG_CONFIG_HOME/opencode
	Data   string // $XDG_DATA_HOME/opencode
	State  string
	Cwd    string
	Root   string // git root, or Cwd when the project is not a git repository
}

// Options configure Load.
type Options struct {
	Paths  Paths
	Env    func(string) string // os.Getenv when nil
	Logger *slog.Logger        // discarded when nil
	// Remote are the documents of auth.json's wellknown entries
	// (FetchWellKnown), merged after OPENCODE_CONFIG.
	Remote []Remote
}

// maxConfigFile bounds every file Load reads (config, {file:} targets,
// markdown), so a reference to a device or a huge file cannot stall startup.
const maxConfigFile = 4 << 20

// minSecretLen is the shortest {env:} value Public treats as a secret to
// redact wherever it appears; shorter values ("1", "on") would redact noise.
const minSecretLen = 4

var (
	envRef  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\{env:([^}]+)\}`) })
	fileRef = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\{file:([^}]+)\}`) })
)

type loader struct {
	paths   Paths
	env     func(string) string
	log     *slog.Logger
	schema  *node
	secrets map[string]struct{}
	envRefs map[string]struct{} // names read through {env:NAME}
	proj    *confine.Root       // the project (Root, or Cwd outside git); nil when unset
}

// Load reads and merges every config source in opencode 0.5.29's order (later
// wins, objects merged deeply, arrays and scalars replaced):
//
//  1. global config.json, opencode.json, opencode.jsonc in Paths.Config;
//  2. project opencode.jsonc files from Root down to Cwd, then project
//     opencode.json files the same way;
//  3. the file named by OPENCODE_CONFIG;
//  4. the "config" object of each Remote document (auth.json wellknown
//     entries), validated like a file; {file:} is refused there, so a
//     remote server cannot have local files read into the config;
//  5. markdown agents, modes and commands from Paths.Config and the
//     .opencode directories from Root down to Cwd;
//  6. OPENCODE_PERMISSION merged into "permission";
//  7. compatibility fix-ups (autoshare, keybind renames, username).
//
// Files are only ever read: unlike the original, Load never adds "$schema"
// to a user's file. The first bad file stops loading with an *Error.
func Load(opts Options) (*Config, error) {
	l := &loader{
		paths:   opts.Paths,
		env:     opts.Env,
		log:     opts.Logger,
		schema:  configSchema(),
		secrets: map[string]struct{}{},
		envRefs: map[string]struct{}{},
	}
	if l.env == nil {
		l.env = os.Getenv
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	l.log = l.log.With(slog.String("component", "config"))
	if dir := cmp.Or(l.paths.Root, l.paths.Cwd); dir != "" {
		if r, err := confine.Open(dir, confine.Options{}); err == nil {
			l.proj = r
			defer r.Close()
		}
	}

	merged := map[string]any{}
	var files []string
	if l.paths.Config != "" {
		for _, name := range []string{"config.json", "opencode.json", "opencode.jsonc"} {
			files = append(files, filepath.Join(l.paths.Config, name))
		}
	}
	dirs := l.projectDirs()
	for _, name := range []string{"opencode.jsonc", "opencode.json"} {
		for _, d := range dirs {
			files = append(files, filepath.Join(d, name))
		}
	}
	envFile := l.env("OPENCODE_CONFIG")
	if envFile != "" {
		if !filepath.IsAbs(envFile) {
			envFile = filepath.Join(l.paths.Cwd, envFile)
		}
		files = append(files, envFile)
		if _, err := os.Stat(envFile); errors.Is(err, fs.ErrNotExist) {
			l.log.Warn("OPENCODE_CONFIG names a missing file", slog.String("path", l.display(envFile)))
		}
	}
	for _, f := range files {
		doc, err := l.loadFile(f)
		if err != nil {
			return nil, err
		}
		if doc != nil {
			l.log.Debug("Loaded config file", slog.String("path", l.display(f)))
			merged = mergeDeep(merged, doc)
		}
	}

	for _, r := range opts.Remote {
		doc, err := l.parseDoc(r.Config, "", r.Source, false)
		if err != nil {
			return nil, err
		}
		l.log.Debug("Loaded remote config", slog.String("source", r.Source))
		merged = mergeDeep(merged, doc)
	}

	if err := l.loadMarkdown(merged, dirs); err != nil {
		return nil, err
	}

	if p := l.env("OPENCODE_PERMISSION"); p != "" {
		var v any
		if err := json.Unmarshal([]byte(p), &v); err != nil {
			return nil, &Error{Name: NameConfigJSON, Path: "$OPENCODE_PERMISSION", Message: err.Error()}
		}
		var dropped []string
		clean, is := permissionSchema().validate(v, "permission", &dropped)
		if is != nil {
			return nil, &Error{Name: NameConfigInvalid, Path: "$OPENCODE_PERMISSION", Key: is.key, Message: is.message}
		}
		l.warnDropped("$OPENCODE_PERMISSION", dropped)
		merged = mergeDeep(merged, map[string]any{"permission": clean})
	}

	l.fixups(merged)
	c, err := newConfig(merged, l.secrets)
	if c != nil {
		for n := range l.envRefs {
			c.envNames = append(c.envNames, n)
		}
	}
	return c, err
}

// projectDirs lists Root down to Cwd (outermost first). When Cwd is not
// inside Root, only Cwd is searched, as the original does without git.
func (l *loader) projectDirs() []string {
	cwd := filepath.Clean(l.paths.Cwd)
	if l.paths.Cwd == "" {
		return nil
	}
	root := filepath.Clean(l.paths.Root)
	if l.paths.Root == "" || !relpath.In(root, cwd) {
		return []string{cwd}
	}
	var dirs []string
	for d := cwd; ; d = filepath.Dir(d) {
		dirs = append(dirs, d)
		if d == root || filepath.Dir(d) == d {
			break
		}
	}
	for i, j := 0, len(dirs)-1; i < j; i, j = i+1, j-1 {
		dirs[i], dirs[j] = dirs[j], dirs[i]
	}
	return dirs
}

// display renders p for error messages without leaking absolute paths:
// "~/..." under home, relative under the project root, else the base name.
func (l *loader) display(p string) string {
	p = filepath.Clean(p)
	if l.paths.Home != "" && l.paths.Config != "" && relpath.In(l.paths.Config, p) && relpath.In(l.paths.Home, p) {
		rel, _ := filepath.Rel(l.paths.Home, p)
		return "~/" + filepath.ToSlash(rel)
	}
	if l.paths.Root != "" && relpath.In(l.paths.Root, p) {
		rel, _ := filepath.Rel(l.paths.Root, p)
		return filepath.ToSlash(rel)
	}
	if l.paths.Cwd != "" && relpath.In(l.paths.Cwd, p) {
		rel, _ := filepath.Rel(l.paths.Cwd, p)
		return filepath.ToSlash(rel)
	}
	if l.paths.Home != "" && relpath.In(l.paths.Home, p) {
		rel, _ := filepath.Rel(l.paths.Home, p)
		return "~/" + filepath.ToSlash(rel)
	}
	return filepath.Base(p)
}

// readLimited reads at most maxConfigFile bytes of a regular file. A file
// inside the project is read through confine: a repository cannot point its
// opencode.json, .opencode/ markdown or {file:} reference out of the project
// with a symlink, nor make loading hang on a FIFO. Files outside the project
// are the user's own; they are read only when regular, and no more bytes
// than fstat reports (so /proc pseudo-files read as empty).
func (l *loader) readLimited(p string) ([]byte, error) {
	if l.proj != nil {
		if rel, ok := relpath.Within(l.proj.Name(), p); ok {
			return l.proj.ReadFileLimit(rel, maxConfigFile)
		}
	}
	return confine.ReadRegular(p, maxConfigFile)
}

// hide removes substituted secret values ({env:}, {file:}) from an error
// that will be logged and shown to clients.
func (l *loader) hide(e *Error) *Error {
	for sec := range l.secrets {
		e.Message = strings.ReplaceAll(e.Message, sec, Redacted)
		e.Message = strings.ReplaceAll(e.Message, jsonEscape(sec), Redacted)
	}
	return e
}

// refused reports a file confine would not read on the project's behalf.
func refused(err error) bool {
	return errors.Is(err, confine.ErrOutside) || errors.Is(err, confine.ErrSpecial) ||
		errors.Is(err, confine.ErrHardLink) || errors.Is(err, confine.ErrDenied)
}

// loadFile reads, substitutes, parses and validates one config file. A
// missing file yields (nil, nil).
func (l *loader) loadFile(p string) (map[string]any, error) {
	b, err := l.readLimited(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	shown := l.display(p)
	if refused(err) {
		l.log.Warn("Skipping a config file that leads out of the project or is not a regular file", slog.String("path", shown))
		return nil, nil
	}
	if err != nil {
		return nil, &Error{Name: NameConfigJSON, Path: shown, Message: "cannot read file: " + cleanErr(err)}
	}
	return l.parseDoc(b, filepath.Dir(p), shown, true)
}

// parseDoc substitutes, parses (JSONC) and validates one config document;
// dir resolves relative {file:} references, which only local files may
// use.
func (l *loader) parseDoc(b []byte, dir, shown string, files bool) (map[string]any, error) {
	if !files && fileRef().Match(b) {
		return nil, &Error{Name: NameConfigInvalid, Path: shown, Message: "{file:} references are not allowed in a remote config"}
	}
	text, err := l.substitute(string(b), dir, shown)
	if err != nil {
		return nil, err
	}
	std, err := hujson.Standardize([]byte(text))
	if err != nil {
		return nil, l.hide(&Error{Name: NameConfigJSON, Path: shown, Message: strings.TrimPrefix(err.Error(), "hujson: ")})
	}
	var v any
	if err := json.Unmarshal(std, &v); err != nil {
		return nil, l.hide(&Error{Name: NameConfigJSON, Path: shown, Message: err.Error()})
	}
	var dropped []string
	clean, is := l.schema.validate(v, "", &dropped)
	if is != nil {
		if is.key == "" {
			is.message = "top level: " + is.message
		}
		return nil, l.hide(&Error{Name: NameConfigInvalid, Path: shown, Key: is.key, Message: is.message})
	}
	l.warnDropped(shown, dropped)
	return clean.(map[string]any), nil
}

// warnDropped logs keys ignored because opencode 0.5.29 ignores them too.
func (l *loader) warnDropped(shown string, keys []string) {
	for _, k := range keys {
		l.log.Warn("Ignoring unknown config key", slog.String("path", shown), slog.String("key", k))
	}
}

// cleanErr strips the path from *fs.PathError so messages stay relative.
func cleanErr(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Op + ": " + pe.Err.Error()
	}
	return err.Error()
}

// jsonEscape returns s escaped for use inside a JSON string literal.
func jsonEscape(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	out := strings.TrimSuffix(buf.String(), "\n")
	return out[1 : len(out)-1]
}

// substitute expands {env:VAR} (value JSON-escaped, empty when unset) and
// {file:path} (contents trimmed and JSON-escaped, relative to dir, "~/"
// expanded; ignored on lines commented out with //). Env values are
// escaped, unlike the original, so a value cannot inject JSON structure.
func (l *loader) substitute(text, dir, shown string) (string, error) {
	text = envRef().ReplaceAllStringFunc(text, func(m string) string {
		name := envRef().FindStringSubmatch(m)[1]
		l.envRefs[name] = struct{}{}
		val := l.env(name)
		if len(val) >= minSecretLen {
			l.secrets[val] = struct{}{}
		}
		return jsonEscape(val)
	})
	if !fileRef().MatchString(text) {
		return text, nil
	}
	lines := strings.Split(text, "\n")
	for i, line := range lines {
		if strings.HasPrefix(strings.TrimSpace(line), "//") || !fileRef().MatchString(line) {
			continue
		}
		var ferr error
		lines[i] = fileRef().ReplaceAllStringFunc(line, func(m string) string {
			if ferr != nil {
				return m
			}
			ref := fileRef().FindStringSubmatch(m)[1]
			target := ref
			if strings.HasPrefix(target, "~/") && l.paths.Home != "" {
				target = filepath.Join(l.paths.Home, target[2:])
			} else if !filepath.IsAbs(target) {
				target = filepath.Join(dir, target)
			}
			b, err := l.readLimited(target)
			if err != nil {
				ferr = &Error{Name: NameConfigInvalid, Path: shown, Message: fmt.Sprintf("bad file reference %q: %s", m, cleanErr(err))}
				return m
			}
			val := strings.TrimSpace(string(b))
			if len(val) >= minSecretLen {
				l.secrets[val] = struct{}{}
			}
			return jsonEscape(val)
		})
		if ferr != nil {
			return "", ferr
		}
	}
	return strings.Join(lines, "\n"), nil
}

// mergeDeep returns a merged with b: objects merge recursively, anything else
// in b replaces a. Neither input is modified.
func mergeDeep(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, bv := range b {
		am, aok := out[k].(map[string]any)
		bm, bok := bv.(map[string]any)
		if aok && bok {
			out[k] = mergeDeep(am, bm)
			continue
		}
		out[k] = bv
	}
	return out
}

// fixups applies the original's compatibility rewrites and defaults.
func (l *loader) fixups(m map[string]any) {
	if m["autoshare"] == true {
		if _, set := m["share"]; !set {
			m["share"] = "auto"
		}
	}
	if kb, ok := m["keybinds"].(map[string]any); ok {
		// Deprecated names apply only when the user set them and not the
		// new name; the original copied schema defaults over user choices.
		renames := [][2]string{
			{"messages_revert", "messages_undo"},
			{"switch_mode", "agent_cycle"},
			{"switch_agent", "agent_cycle"},
			{"switch_mode_reverse", "agent_cycle_reverse"},
			{"switch_agent_reverse", "agent_cycle_reverse"},
		}
		explicit := make(map[string]bool, len(kb))
		for k := range kb {
			explicit[k] = true
		}
		for _, r := range renames {
			if explicit[r[0]] && !explicit[r[1]] {
				kb[r[1]] = kb[r[0]]
				explicit[r[1]] = true
			}
		}
		for k, v := range keybindDefaults() {
			if _, ok := kb[k]; !ok {
				kb[k] = v
			}
		}
	}
	if tui, ok := m["tui"].(map[string]any); ok {
		if _, ok := tui["scroll_speed"]; !ok {
			tui["scroll_speed"] = 2.0
		}
	}
	for _, k := range []string{"agent", "mode", "command"} {
		if _, ok := m[k].(map[string]any); !ok {
			m[k] = map[string]any{}
		}
	}
	if _, ok := m["plugin"].([]any); !ok {
		m["plugin"] = []any{}
	}
	if s, _ := m["username"].(string); s == "" {
		m["username"] = l.username()
	}
}

func (l *loader) username() string {
	for _, k := range []string{"USER", "LOGNAME", "USERNAME"} {
		if v := l.env(k); v != "" {
			return v
		}
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "unknown"
}
