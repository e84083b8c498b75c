// Package lsp runs language servers for the agent, as opencode does: the
// servers of the config's "lsp" block and the known defaults whose program
// is on PATH (gopls, typescript-language-server, pyright or pylsp,
// rust-analyzer, clangd, …), each started lazily, once per server and
// project root, on the first file the agent writes that it handles.
//
// Guarantees:
//   - After Touch returns, Errors holds the server's latest diagnostics for
//     the file's current content (or what arrived within DiagnosticsWait;
//     three times that for a server that has not published yet, as it
//     loads the workspace first).
//   - A server that fails to start, does not answer initialize within
//     StartTimeout, or exits is reported once (OnError) and skipped from
//     then on; the rest keeps working.
//   - Servers run in their own process groups with the given environment
//     plus their "env"; Close shuts them down and kills the groups.
//   - WorkspaceSymbols asks only servers already running, bounded by a
//     short timeout, as opencode's /find/symbol does.
package lsp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
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
	"ocgo/search"
)

// Defaults for Options.
const (
	DefaultStartTimeout    = 30 * time.Second
	DefaultDiagnosticsWait = 5 * time.Second
	symbolTimeout          = 3 * time.Second
)

// Options configures a Service.
type Options struct {
	Config map[string]config.LSPConfig
	// Root is the project root; a server's root is the nearest directory
	// with one of its markers between the file and Root, else Root.
	Root string
	// Environ returns the base environment; default childenv.Default.
	Environ func() []string
	// LookPath finds programs; default exec.LookPath.
	LookPath        func(string) (string, error)
	StartTimeout    time.Duration
	DiagnosticsWait time.Duration
	Logger          *slog.Logger
	// OnDiagnostics is called when a server publishes diagnostics for a
	// file (lsp.client.diagnostics).
	OnDiagnostics func(serverID, path string)
	// OnError reports a server that failed or died, once.
	OnError func(serverID string, err error)
}

// Diagnostic is an LSP diagnostic (positions and ranges are the LSP types
// search already declares for /find/symbol).
type Diagnostic struct {
	Range    search.Range `json:"range"`
	Severity int          `json:"severity,omitempty"` // 1 error, 2 warning, 3 information, 4 hint
	Code     any          `json:"code,omitempty"`
	Source   string       `json:"source,omitempty"`
	Message  string       `json:"message"`
}

// Pretty formats a diagnostic as opencode shows it to the model:
// "ERROR [line:col] message", 1-based.
func (d Diagnostic) Pretty() string {
	sev := map[int]string{1: "ERROR", 2: "WARN", 3: "INFO", 4: "HINT"}[d.Severity]
	if sev == "" {
		sev = "ERROR"
	}
	return fmt.Sprintf("%s [%d:%d] %s", sev, d.Range.Start.Line+1, d.Range.Start.Character+1, d.Message)
}

// serverDef is one language server the service may start.
type serverDef struct {
	id         string
	command    []string
	extensions []string
	env        map[string]string
	init       map[string]any
	markers    []string // root markers, nearest wins
	// alt names programs tried in order when command[0] is not found.
	alt [][]string
}

// Service owns the language server clients. It is safe for concurrent use.
type Service struct {
	opts Options
	log  *slog.Logger
	defs []*serverDef

	mu      sync.Mutex
	clients map[string]*client       // id + "\x00" + root
	waiting map[string]chan struct{} // starts under way
	broken  map[string]bool
	closed  bool
}

// New builds the service; no server starts before Touch.
func New(opts Options) *Service {
	if opts.Environ == nil {
		opts.Environ = childenv.Default
	}
	if opts.LookPath == nil {
		opts.LookPath = exec.LookPath
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	if opts.DiagnosticsWait <= 0 {
		opts.DiagnosticsWait = DefaultDiagnosticsWait
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	set := map[string]*serverDef{}
	for _, d := range builtins() {
		set[d.id] = d
	}
	for id, c := range opts.Config {
		if c.Disabled {
			delete(set, id)
			continue
		}
		d := set[id]
		if d == nil {
			d = &serverDef{id: id}
			set[id] = d
		}
		if len(c.Command) > 0 {
			d.command, d.alt = c.Command, nil
		}
		if len(c.Extensions) > 0 {
			d.extensions = c.Extensions
		}
		if len(c.Env) > 0 {
			d.env = c.Env
		}
		if c.Initialization != nil {
			d.init = c.Initialization
		}
	}
	s := &Service{opts: opts, log: opts.Logger.With("component", "lsp"), clients: map[string]*client{}, waiting: map[string]chan struct{}{}, broken: map[string]bool{}}
	for _, id := range slices.Sorted(maps.Keys(set)) {
		if d := set[id]; len(d.command) > 0 && len(d.extensions) > 0 {
			s.defs = append(s.defs, d)
		}
	}
	return s
}

// builtins are the known servers, started when their program is on PATH.
func builtins() []*serverDef {
	return []*serverDef{
		{id: "gopls", command: []string{"gopls"}, extensions: []string{".go"}, markers: []string{"go.work", "go.mod"}},
		{id: "typescript", command: []string{"typescript-language-server", "--stdio"}, extensions: []string{".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts"},
			markers: []string{"package-lock.json", "bun.lockb", "bun.lock", "pnpm-lock.yaml", "yarn.lock", "package.json"}},
		{id: "pyright", command: []string{"pyright-langserver", "--stdio"}, alt: [][]string{{"pylsp"}}, extensions: []string{".py", ".pyi"},
			markers: []string{"pyproject.toml", "setup.py", "setup.cfg", "requirements.txt", "Pipfile", "pyrightconfig.json"}},
		{id: "rust", command: []string{"rust-analyzer"}, extensions: []string{".rs"}, markers: []string{"Cargo.toml"}},
		{id: "clangd", command: []string{"clangd"}, extensions: []string{".c", ".cc", ".cpp", ".cxx", ".h", ".hh", ".hpp", ".hxx"},
			markers: []string{"compile_commands.json", "compile_flags.txt", ".clangd", "CMakeLists.txt"}},
		{id: "ruby-lsp", command: []string{"ruby-lsp"}, extensions: []string{".rb", ".rake", ".gemspec", ".ru"}, markers: []string{"Gemfile"}},
		{id: "zls", command: []string{"zls"}, extensions: []string{".zig", ".zon"}, markers: []string{"build.zig"}},
	}
}

// Touch tells the servers for path's extension that the file changed
// (starting them if needed) and waits for their diagnostics, at most
// DiagnosticsWait.
func (s *Service) Touch(ctx context.Context, path string) {
	text, err := os.ReadFile(path)
	if err != nil {
		return
	}
	var wg sync.WaitGroup
	for _, c := range s.clientsFor(ctx, path) {
		wg.Go(func() { c.touch(ctx, path, string(text), s.opts.DiagnosticsWait) })
	}
	wg.Wait()
}

// Errors returns the error diagnostics (severity 1) the servers last
// published for path.
func (s *Service) Errors(path string) []Diagnostic {
	var out []Diagnostic
	for _, c := range s.running() {
		for _, d := range c.diagnostics(path) {
			if d.Severity == 0 || d.Severity == 1 {
				out = append(out, d)
			}
		}
	}
	return out
}

// Diagnostics returns everything the servers last published for path.
func (s *Service) Diagnostics(path string) []Diagnostic {
	var out []Diagnostic
	for _, c := range s.running() {
		out = append(out, c.diagnostics(path)...)
	}
	return out
}

// symbolKinds are the kinds opencode keeps in /find/symbol answers.
var symbolKinds = map[int]bool{5: true, 6: true, 10: true, 11: true, 12: true, 13: true, 14: true, 23: true}

// WorkspaceSymbols asks every running server for symbols matching query;
// ok is false when no server runs.
func (s *Service) WorkspaceSymbols(ctx context.Context, query string) (out []search.Symbol, ok bool) {
	clients := s.running()
	if len(clients) == 0 {
		return nil, false
	}
	for _, c := range clients {
		cctx, cancel := context.WithTimeout(ctx, symbolTimeout)
		var syms []search.Symbol
		err := c.conn.call(cctx, "workspace/symbol", map[string]any{"query": query}, &syms)
		cancel()
		if err != nil {
			s.log.Debug("workspace/symbol failed", "server", c.id, "err", err)
			continue
		}
		n := 0
		for _, sym := range syms {
			if symbolKinds[sym.Kind] && sym.Location.URI != "" && n < 10 {
				out = append(out, sym)
				n++
			}
		}
	}
	return out, true
}

// Close shuts every server down.
func (s *Service) Close() {
	s.mu.Lock()
	s.closed = true
	clients := slices.Collect(maps.Values(s.clients))
	s.clients = map[string]*client{}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(c.shutdown)
	}
	wg.Wait()
}

func (s *Service) running() []*client {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*client
	for _, k := range slices.Sorted(maps.Keys(s.clients)) {
		out = append(out, s.clients[k])
	}
	return out
}

// clientsFor returns the clients for path, starting missing ones.
func (s *Service) clientsFor(ctx context.Context, path string) []*client {
	ext := filepath.Ext(path)
	var out []*client
	for _, d := range s.defs {
		if !slices.Contains(d.extensions, ext) {
			continue
		}
		root := s.rootFor(d, path)
		if c := s.client(ctx, d, root); c != nil {
			out = append(out, c)
		}
	}
	return out
}

// rootFor is the nearest directory holding one of d's markers, from the
// file's directory up to the project root (each marker in order of
// preference, as go.work before go.mod), else the project root.
func (s *Service) rootFor(d *serverDef, path string) string {
	for _, m := range d.markers {
		for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
			if _, err := os.Stat(filepath.Join(dir, m)); err == nil {
				return dir
			}
			if dir == s.opts.Root || dir == filepath.Dir(dir) || !strings.HasPrefix(dir, s.opts.Root) {
				break
			}
		}
	}
	return s.opts.Root
}

// client returns the running client for (d, root), starting it once.
func (s *Service) client(ctx context.Context, d *serverDef, root string) *client {
	key := d.id + "\x00" + root
	for {
		s.mu.Lock()
		if s.closed || s.broken[key] {
			s.mu.Unlock()
			return nil
		}
		if c := s.clients[key]; c != nil {
			s.mu.Unlock()
			return c
		}
		if w := s.waiting[key]; w != nil {
			s.mu.Unlock()
			select {
			case <-w:
				continue
			case <-ctx.Done():
				return nil
			}
		}
		w := make(chan struct{})
		s.waiting[key] = w
		s.mu.Unlock()

		c, err := s.start(d, root)
		s.mu.Lock()
		delete(s.waiting, key)
		close(w)
		switch {
		case errors.Is(err, errNotFound):
			s.broken[key] = true // not installed: skipped silently
		case err != nil:
			s.broken[key] = true
		case s.closed:
			s.mu.Unlock()
			c.shutdown()
			return nil
		default:
			s.clients[key] = c
		}
		s.mu.Unlock()
		if err != nil && !errors.Is(err, errNotFound) {
			s.fail(d.id, fmt.Errorf("language server %s (%s) failed to start: %w", d.id, root, err))
		}
		if err != nil {
			return nil
		}
		go s.watch(key, c)
		return c
	}
}

// watch removes a client whose process exits and reports it once.
func (s *Service) watch(key string, c *client) {
	<-c.conn.done
	s.mu.Lock()
	if s.clients[key] != c {
		s.mu.Unlock()
		return // shut down on purpose
	}
	delete(s.clients, key)
	s.broken[key] = true
	s.mu.Unlock()
	c.kill()
	s.fail(c.id, fmt.Errorf("language server %s (%s) exited; it is skipped from now on", c.id, c.root))
}

func (s *Service) fail(id string, err error) {
	s.log.Warn("Language server failed", "server", id, "err", err)
	if s.opts.OnError != nil {
		s.opts.OnError(id, err)
	}
}

// errNotFound means the server's program is not installed.
var errNotFound = errors.New("program not found")

// start runs the server and initializes it.
func (s *Service) start(d *serverDef, root string) (*client, error) {
	command := d.command
	if _, err := s.opts.LookPath(command[0]); err != nil {
		command = nil
		for _, a := range d.alt {
			if _, err := s.opts.LookPath(a[0]); err == nil {
				command = a
				break
			}
		}
		if command == nil {
			return nil, errNotFound
		}
	}
	cmd := exec.Command(command[0], command[1:]...)
	cmd.Dir = root
	cmd.Env = s.opts.Environ()
	for _, k := range slices.Sorted(maps.Keys(d.env)) {
		cmd.Env = append(cmd.Env, k+"="+d.env[k])
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &client{id: d.id, root: root, pid: cmd.Process.Pid, conn: newConn(stdout, stdin), on: s.opts.OnDiagnostics,
		versions: map[string]int{}, diags: map[string][]Diagnostic{}, waiters: map[string][]chan struct{}{}}
	c.conn.onNotify = c.notification
	c.conn.onRequest = func(method string, params json.RawMessage) any { return c.request(method, params, d.init) }
	go c.conn.run()
	go func() { _ = cmd.Wait() }()

	ctx, cancel := context.WithTimeout(context.Background(), s.opts.StartTimeout)
	defer cancel()
	rootURI := fileURI(root)
	err = c.conn.call(ctx, "initialize", map[string]any{
		"processId":             os.Getpid(),
		"rootUri":               rootURI,
		"rootPath":              root,
		"workspaceFolders":      []map[string]string{{"uri": rootURI, "name": filepath.Base(root)}},
		"initializationOptions": d.init,
		"capabilities": map[string]any{
			"window":    map[string]any{"workDoneProgress": true},
			"workspace": map[string]any{"configuration": true, "workspaceFolders": true, "symbol": map[string]any{}},
			"textDocument": map[string]any{
				"synchronization":    map[string]any{"didOpen": true, "didChange": true},
				"publishDiagnostics": map[string]any{"versionSupport": true},
			},
		},
	}, nil)
	if err == nil {
		err = c.conn.notify("initialized", map[string]any{})
	}
	if err != nil {
		c.kill()
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("no answer to initialize within %s", s.opts.StartTimeout)
		}
		return nil, err
	}
	s.log.Info("Language server started", "server", d.id, "root", root)
	return c, nil
}

func fileURI(p string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(p)}).String()
}

// pathOf is the file path of a file:// URI (opencode's "URL pathname").
func pathOf(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "file" {
		return ""
	}
	return filepath.FromSlash(u.Path)
}
