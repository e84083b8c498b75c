// Package format runs code formatters on the files the agent writes, as
// opencode does after edit, write and patch: its built-in set (gofmt,
// prettier, ruff, black, rustfmt, clang-format, …), each enabled only where
// its program is found (and, for some, where the project uses it), changed
// or disabled by the config's "formatter" block, plus custom formatters
// with a command holding "$FILE".
//
// Guarantees:
//   - A formatter never fails the tool call: its error (a non-zero exit, a
//     missing program, a timeout) is reported in the Result only.
//   - Each run is bounded by Timeout; on expiry the formatter's whole
//     process group is killed.
//   - Formatters run in the project directory with the given environment
//     (the scrubbed one the agent's commands get) plus their "environment".
package format

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"ocgo/childenv"
	"ocgo/config"
)

// DefaultTimeout bounds one formatter run.
const DefaultTimeout = 10 * time.Second

// Options configures a Service.
type Options struct {
	Config map[string]config.FormatterConfig
	// Dir is the project directory: formatters run there, and project
	// files (package.json, pyproject.toml, .clang-format) are looked up
	// from there up to Root.
	Dir, Root string
	// Environ returns the base environment; default childenv.Default.
	Environ func() []string
	Timeout time.Duration
	// LookPath finds programs; default exec.LookPath.
	LookPath func(string) (string, error)
	Logger   *slog.Logger
}

// Result is one formatter run on one file.
type Result struct {
	Name  string `json:"name"`
	File  string `json:"file"`
	Error string `json:"error,omitempty"`
}

// formatter is one formatter of the set.
type formatter struct {
	name       string
	command    []string
	extensions []string
	env        map[string]string
	// enabled reports whether the formatter applies to this project; it
	// may rewrite command[0] (a project-local binary).
	enabled func(s *Service, f *formatter) bool
	once    sync.Once
	on      bool
}

// Service runs formatters. It is safe for concurrent use.
type Service struct {
	opts Options
	log  *slog.Logger
	list []*formatter // sorted by name
}

// New builds the formatter set from the built-ins and the config.
func New(opts Options) *Service {
	if opts.Environ == nil {
		opts.Environ = childenv.Default
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.LookPath == nil {
		opts.LookPath = exec.LookPath
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Root == "" {
		opts.Root = opts.Dir
	}
	set := map[string]*formatter{}
	for _, f := range builtins() {
		set[f.name] = f
	}
	for name, c := range opts.Config {
		if c.Disabled {
			delete(set, name)
			continue
		}
		f := set[name]
		if f == nil {
			f = &formatter{name: name}
			set[name] = f
		}
		if len(c.Command) > 0 {
			f.command = c.Command
		}
		if len(c.Extensions) > 0 {
			f.extensions = c.Extensions
		}
		if len(c.Environment) > 0 {
			f.env = c.Environment
		}
		f.enabled = nil // configured: always on
	}
	s := &Service{opts: opts, log: opts.Logger.With("component", "format")}
	for _, name := range slices.Sorted(maps.Keys(set)) {
		if f := set[name]; len(f.command) > 0 && len(f.extensions) > 0 {
			s.list = append(s.list, f)
		}
	}
	return s
}

// Format runs every enabled formatter that handles path's extension, in
// name order, and reports each run.
func (s *Service) Format(ctx context.Context, path string) []Result {
	ext := filepath.Ext(path)
	if ext == "" {
		return nil
	}
	var out []Result
	for _, f := range s.list {
		if !slices.Contains(f.extensions, ext) || !s.isEnabled(f) {
			continue
		}
		r := Result{Name: f.name, File: path}
		if err := s.run(ctx, f, path); err != nil {
			r.Error = err.Error()
			s.log.Warn("Formatter failed", "formatter", f.name, "file", path, "err", err)
		}
		out = append(out, r)
	}
	return out
}

func (s *Service) isEnabled(f *formatter) bool {
	f.once.Do(func() { f.on = f.enabled == nil || f.enabled(s, f) })
	return f.on
}

// run runs one formatter with "$FILE" replaced by path.
func (s *Service) run(ctx context.Context, f *formatter, path string) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	args := make([]string, len(f.command))
	for i, a := range f.command {
		args[i] = strings.ReplaceAll(a, "$FILE", path)
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = s.opts.Dir
	cmd.Env = s.opts.Environ()
	for _, k := range slices.Sorted(maps.Keys(f.env)) {
		cmd.Env = append(cmd.Env, k+"="+f.env[k])
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if err == nil {
		return nil
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("timed out after %s", s.opts.Timeout)
	}
	msg := strings.TrimSpace(stderr.String())
	if len(msg) > 500 {
		msg = msg[:500] + "…"
	}
	if msg != "" {
		return fmt.Errorf("%v: %s", err, msg)
	}
	return err
}

// onPath enables a formatter whose program is found.
func onPath(s *Service, f *formatter) bool {
	_, err := s.opts.LookPath(f.command[0])
	return err == nil
}

// findUp returns the first of names found from Dir up to Root.
func (s *Service) findUp(names ...string) (string, bool) {
	dir := s.opts.Dir
	for {
		for _, n := range names {
			p := filepath.Join(dir, n)
			if _, err := os.Stat(p); err == nil {
				return p, true
			}
		}
		if dir == s.opts.Root || dir == filepath.Dir(dir) {
			return "", false
		}
		dir = filepath.Dir(dir)
	}
}

// mentions reports whether one of the project files found up the tree
// contains text.
func (s *Service) mentions(text string, names ...string) bool {
	for _, n := range names {
		if p, ok := s.findUp(n); ok {
			if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(text)) {
				return true
			}
		}
	}
	return false
}

// builtins is opencode's formatter set (plus black and rustfmt), each with
// the condition under which it applies.
func builtins() []*formatter {
	return []*formatter{
		{name: "gofmt", command: []string{"gofmt", "-w", "$FILE"}, extensions: []string{".go"}, enabled: onPath},
		{name: "mix", command: []string{"mix", "format", "$FILE"}, extensions: []string{".ex", ".exs", ".eex", ".heex", ".leex", ".neex", ".sface"}, enabled: onPath},
		{name: "prettier", command: []string{"prettier", "--write", "$FILE"}, extensions: []string{
			".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".mts", ".cts", ".html", ".htm", ".css", ".scss", ".sass", ".less",
			".vue", ".svelte", ".json", ".jsonc", ".yaml", ".yml", ".toml", ".xml", ".md", ".mdx", ".graphql", ".gql",
		}, enabled: func(s *Service, f *formatter) bool {
			// The project depends on prettier: its own binary, else one on PATH.
			if !s.mentions(`"prettier"`, "package.json") {
				return false
			}
			if p, ok := s.findUp(filepath.Join("node_modules", ".bin", "prettier")); ok {
				f.command = append([]string{p}, f.command[1:]...)
				return true
			}
			return onPath(s, f)
		}},
		{name: "zig", command: []string{"zig", "fmt", "$FILE"}, extensions: []string{".zig", ".zon"}, enabled: onPath},
		{name: "clang-format", command: []string{"clang-format", "-i", "$FILE"}, extensions: []string{
			".c", ".cc", ".cpp", ".cxx", ".c++", ".h", ".hh", ".hpp", ".hxx", ".h++", ".ino", ".C", ".H",
		}, enabled: func(s *Service, f *formatter) bool {
			_, ok := s.findUp(".clang-format")
			return ok && onPath(s, f)
		}},
		{name: "ktlint", command: []string{"ktlint", "-F", "$FILE"}, extensions: []string{".kt", ".kts"}, enabled: onPath},
		{name: "ruff", command: []string{"ruff", "format", "$FILE"}, extensions: []string{".py", ".pyi"}, enabled: func(s *Service, f *formatter) bool {
			if !onPath(s, f) {
				return false
			}
			if _, ok := s.findUp("ruff.toml", ".ruff.toml"); ok {
				return true
			}
			return s.mentions("[tool.ruff", "pyproject.toml") || s.mentions("ruff", "requirements.txt", "Pipfile")
		}},
		{name: "black", command: []string{"black", "-q", "$FILE"}, extensions: []string{".py", ".pyi"}, enabled: func(s *Service, f *formatter) bool {
			return onPath(s, f) && (s.mentions("[tool.black", "pyproject.toml") || s.mentions("black", "requirements.txt", "Pipfile"))
		}},
		{name: "rustfmt", command: []string{"rustfmt", "$FILE"}, extensions: []string{".rs"}, enabled: onPath},
		{name: "rubocop", command: []string{"rubocop", "--autocorrect", "$FILE"}, extensions: []string{".rb", ".rake", ".gemspec", ".ru"}, enabled: onPath},
		{name: "standardrb", command: []string{"standardrb", "--fix", "$FILE"}, extensions: []string{".rb", ".rake", ".gemspec", ".ru"}, enabled: onPath},
		{name: "htmlbeautifier", command: []string{"htmlbeautifier", "$FILE"}, extensions: []string{".erb", ".html.erb"}, enabled: onPath},
		{name: "dart", command: []string{"dart", "format", "$FILE"}, extensions: []string{".dart"}, enabled: onPath},
	}
}
