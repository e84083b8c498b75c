// Package mcp connects ocgo to the MCP servers of the config's "mcp" block
// and offers their tools to the agent as ordinary tools named
// "<server>_<tool>", as opencode does.
//
// Guarantees:
//   - A local server is a child process in its own process group, started
//     with the server's environment plus its configured "environment". On
//     Close (and when it is restarted) the whole group is killed, so no
//     grandchild outlives ocgo.
//   - A remote server is reached over streamable HTTP with its "headers";
//     when that fails the legacy SSE transport is tried, as opencode does.
//   - Nothing blocks start-up: servers connect in the background, and the
//     tool list waits for a connection at most ConnectTimeout.
//   - A server that cannot start, crashes or does not answer never stops the
//     rest: the failure is reported once through OnError (opencode publishes
//     it as session.error without a session id), its tools disappear, and
//     each call is bounded by CallTimeout. A local server that was connected
//     and then exited is started again on its next use.
//   - Tools go through the same registry as the built-in ones (the session
//     core's tool maps and permissions), so "github_*": false turns them off.
package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"ocgo/childenv"
	"ocgo/config"
	"ocgo/tool"
)

// Server states reported by Status.
const (
	StatusConnected = "connected"
	StatusFailed    = "failed"
	StatusDisabled  = "disabled"
	// StatusConnecting is reported while the first connection is under way.
	StatusConnecting = "connecting"
)

// ServerStatus is one server's state, the value of GET /mcp's map.
type ServerStatus struct {
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

// Defaults for Options.
const (
	DefaultConnectTimeout = 30 * time.Second
	DefaultCallTimeout    = 5 * time.Minute
)

// Options configures a Manager.
type Options struct {
	Servers map[string]config.MCPConfig
	// Dir is the working directory of local servers (the project).
	Dir string
	// Environ returns the base environment of local servers; default
	// childenv.Default.
	Environ func() []string
	Logger  *slog.Logger
	// OnError reports a server that failed to start, to connect, or that
	// exited; called once per failure.
	OnError func(server string, err error)
	// ConnectTimeout bounds starting a server and listing its tools.
	ConnectTimeout time.Duration
	// CallTimeout bounds one tool call.
	CallTimeout time.Duration
	// Version is sent as the client version.
	Version string
	// HTTPClient is the base client for remote servers (tests); default a
	// client without a global timeout.
	HTTPClient *http.Client
}

// Manager owns the MCP client sessions. It is safe for concurrent use.
type Manager struct {
	opts    Options
	log     *slog.Logger
	client  *sdk.Client
	servers map[string]*server
	names   []string // sorted server names
	closed  chan struct{}
	once    sync.Once
}

// server is one configured MCP server.
type server struct {
	m    *Manager
	name string
	cfg  config.MCPConfig

	mu      sync.Mutex
	state   string
	err     string
	crashed bool          // connected once, then the session ended
	ready   chan struct{} // closed when the current connection attempt ends
	cs      *sdk.ClientSession
	cmd     *exec.Cmd
	tools   []*sdk.Tool
}

// New builds a manager; Start connects the servers.
func New(opts Options) *Manager {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Environ == nil {
		opts.Environ = childenv.Default
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = DefaultConnectTimeout
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = DefaultCallTimeout
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{}
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	m := &Manager{opts: opts, log: opts.Logger.With("component", "mcp"), servers: map[string]*server{}, closed: make(chan struct{})}
	m.client = sdk.NewClient(&sdk.Implementation{Name: "opencode", Version: opts.Version}, &sdk.ClientOptions{
		ToolListChangedHandler: func(_ context.Context, req *sdk.ToolListChangedRequest) { m.refresh(req.Session) },
	})
	for name, cfg := range opts.Servers {
		s := &server{m: m, name: name, cfg: cfg, state: StatusDisabled}
		m.servers[name] = s
		m.names = append(m.names, name)
	}
	slices.Sort(m.names)
	return m
}

// Start connects every enabled server in the background.
func (m *Manager) Start() {
	for _, name := range m.names {
		s := m.servers[name]
		if s.cfg.Enabled != nil && !*s.cfg.Enabled {
			continue
		}
		s.mu.Lock()
		s.begin()
		s.mu.Unlock()
	}
}

// Status returns every configured server's state.
func (m *Manager) Status() map[string]ServerStatus {
	out := make(map[string]ServerStatus, len(m.servers))
	for name, s := range m.servers {
		s.mu.Lock()
		out[name] = ServerStatus{Status: s.state, Error: s.err}
		s.mu.Unlock()
	}
	return out
}

// Tools returns the tools of every connected server, waiting for servers
// still connecting (each attempt is bounded by ConnectTimeout) and starting
// again a local server that exited since its last use.
func (m *Manager) Tools(ctx context.Context) []tool.Tool {
	var out []tool.Tool
	seen := map[string]bool{}
	for _, name := range m.names {
		s := m.servers[name]
		if !s.wait(ctx) {
			continue
		}
		s.mu.Lock()
		list := s.tools
		s.mu.Unlock()
		for _, t := range list {
			n := ToolName(name, t.Name)
			if seen[n] {
				m.log.Warn("Two MCP tools have the same name; keeping the first", "tool", n, "server", name)
				continue
			}
			seen[n] = true
			out = append(out, &mcpTool{s: s, name: n, remote: t.Name, info: tool.Info{Name: n, Description: t.Description, InputSchema: inputSchema(t.InputSchema)}})
		}
	}
	return out
}

// Close ends every session and kills local servers with their children.
func (m *Manager) Close() {
	m.once.Do(func() { close(m.closed) })
	var wg sync.WaitGroup
	for _, s := range m.servers {
		wg.Go(func() {
			s.mu.Lock()
			ready := s.ready
			s.mu.Unlock()
			if ready != nil {
				<-ready // connect attempts end quickly once closed is closed
			}
			s.mu.Lock()
			cs, cmd := s.cs, s.cmd
			s.cs, s.cmd = nil, nil
			s.mu.Unlock()
			stop(cs, cmd)
		})
	}
	wg.Wait()
}

// stop closes a session and kills a local server's process group.
func stop(cs *sdk.ClientSession, cmd *exec.Cmd) {
	if cmd != nil && cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	}
	if cs != nil {
		// Closes the server's stdin and waits for it to exit (killing it
		// after the transport's TerminateDuration).
		_ = cs.Close()
	}
	if cmd != nil && cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // what is left of the group
	}
}

// nonName matches what opencode replaces in MCP tool names: runs of
// whitespace and hyphens. Characters providers refuse in a function name
// are replaced too (opencode would send them and fail).
var (
	spaceOrHyphen = regexp.MustCompile(`[\s-]+`)
	space         = regexp.MustCompile(`\s+`)
	invalid       = regexp.MustCompile(`[^A-Za-z0-9_-]`)
)

// ToolName is the name a server's tool is offered under: the server name
// with whitespace turned into "_", "_", and the tool name with runs of
// whitespace and hyphens turned into "_" (opencode 0.5's naming).
func ToolName(server, tool string) string {
	s := invalid.ReplaceAllString(space.ReplaceAllString(server, "_"), "_")
	t := invalid.ReplaceAllString(spaceOrHyphen.ReplaceAllString(tool, "_"), "_")
	return s + "_" + t
}

// inputSchema turns a server's input schema into the JSON object sent to
// providers (always an object schema).
func inputSchema(v any) map[string]any {
	var m map[string]any
	if b, err := json.Marshal(v); err == nil {
		_ = json.Unmarshal(b, &m)
	}
	if m == nil {
		m = map[string]any{}
	}
	m["type"] = "object"
	if _, ok := m["properties"]; !ok {
		m["properties"] = map[string]any{}
	}
	return m
}

// begin starts a connection attempt; s.mu is held.
func (s *server) begin() {
	if s.ready != nil {
		select {
		case <-s.ready:
		default:
			return // an attempt is under way
		}
	}
	ready := make(chan struct{})
	s.ready = ready
	if s.state != StatusConnected {
		s.state, s.err = StatusConnecting, ""
	}
	go func() {
		defer close(ready)
		s.connect()
	}()
}

// wait waits for the current connection attempt, restarting a crashed
// local server first; it reports whether the server is connected.
func (s *server) wait(ctx context.Context) bool {
	s.mu.Lock()
	if s.crashed {
		s.crashed = false
		s.begin()
	}
	ready := s.ready
	s.mu.Unlock()
	if ready == nil {
		return false // disabled
	}
	select {
	case <-ready:
	case <-ctx.Done():
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state == StatusConnected && s.cs != nil
}

// connect starts or reaches the server and lists its tools.
func (s *server) connect() {
	m := s.m
	ctx, cancel := context.WithTimeout(context.Background(), m.opts.ConnectTimeout)
	defer cancel()
	go func() {
		select {
		case <-m.closed:
			cancel()
		case <-ctx.Done():
		}
	}()
	var (
		cs  *sdk.ClientSession
		cmd *exec.Cmd
		err error
	)
	switch s.cfg.Type {
	case "local":
		cs, cmd, err = s.connectLocal(ctx)
	case "remote":
		cs, err = s.connectRemote(ctx)
	default:
		err = fmt.Errorf("unknown type %q", s.cfg.Type)
	}
	var tools []*sdk.Tool
	if err == nil {
		tools, err = listTools(ctx, cs)
		if err != nil {
			stop(cs, cmd)
			cs, cmd = nil, nil
		}
	}
	if err == nil {
		select {
		case <-m.closed:
			stop(cs, cmd)
			cs, cmd, err = nil, nil, errors.New("ocgo is shutting down")
		default:
		}
	}
	s.mu.Lock()
	old, oldCmd := s.cs, s.cmd
	if err != nil {
		s.state, s.err, s.cs, s.cmd, s.tools = StatusFailed, err.Error(), nil, nil, nil
	} else {
		s.state, s.err, s.cs, s.cmd, s.tools = StatusConnected, "", cs, cmd, tools
	}
	s.mu.Unlock()
	if old != nil {
		stop(old, oldCmd)
	}
	if err != nil {
		s.fail(fmt.Errorf("MCP server %s failed to start: %w", s.name, err))
		return
	}
	m.log.Info("MCP server connected", "server", s.name, "tools", len(tools))
	go s.watch(cs)
}

// watch notices a session that ends while in use (a crashed local server,
// a remote that went away).
func (s *server) watch(cs *sdk.ClientSession) {
	err := cs.Wait()
	select {
	case <-s.m.closed:
		return
	default:
	}
	s.mu.Lock()
	if s.cs != cs {
		s.mu.Unlock()
		return // replaced or closed on purpose
	}
	cmd := s.cmd
	s.cs, s.cmd, s.tools = nil, nil, nil
	s.state, s.crashed = StatusFailed, true
	msg := "the server exited"
	if err != nil {
		msg += ": " + err.Error()
	}
	s.err = msg
	s.mu.Unlock()
	stop(cs, cmd)
	s.fail(fmt.Errorf("MCP server %s stopped: %s", s.name, msg))
}

func (s *server) fail(err error) {
	s.m.log.Warn("MCP server failed", "server", s.name, "err", err)
	if s.m.opts.OnError != nil {
		s.m.opts.OnError(s.name, err)
	}
}

// refresh re-lists the tools after a tools/list_changed notification.
func (m *Manager) refresh(cs *sdk.ClientSession) {
	for _, s := range m.servers {
		s.mu.Lock()
		mine := s.cs == cs
		s.mu.Unlock()
		if !mine {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), m.opts.ConnectTimeout)
		tools, err := listTools(ctx, cs)
		cancel()
		if err != nil {
			m.log.Warn("Could not list MCP tools", "server", s.name, "err", err)
			return
		}
		s.mu.Lock()
		if s.cs == cs {
			s.tools = tools
		}
		s.mu.Unlock()
		return
	}
}

func listTools(ctx context.Context, cs *sdk.ClientSession) ([]*sdk.Tool, error) {
	var out []*sdk.Tool
	for t, err := range cs.Tools(ctx, nil) {
		if err != nil {
			return nil, fmt.Errorf("listing tools: %w", err)
		}
		out = append(out, t)
	}
	return out, nil
}

// connectLocal starts the command in its own process group.
func (s *server) connectLocal(ctx context.Context) (*sdk.ClientSession, *exec.Cmd, error) {
	if len(s.cfg.Command) == 0 || s.cfg.Command[0] == "" {
		return nil, nil, errors.New("empty command")
	}
	cmd := exec.Command(s.cfg.Command[0], s.cfg.Command[1:]...)
	cmd.Dir = s.m.opts.Dir
	env := s.m.opts.Environ()
	for _, k := range slices.Sorted(maps.Keys(s.cfg.Environment)) {
		env = append(env, k+"="+s.cfg.Environment[k])
	}
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr := &tail{max: 2048}
	cmd.Stderr = stderr
	cs, err := s.m.client.Connect(ctx, &sdk.CommandTransport{Command: cmd, TerminateDuration: 2 * time.Second}, nil)
	if err != nil {
		if cmd.Process != nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
		if t := strings.TrimSpace(stderr.String()); t != "" {
			err = fmt.Errorf("%w (stderr: %s)", err, t)
		}
		return nil, nil, err
	}
	return cs, cmd, nil
}

// connectRemote tries streamable HTTP, then SSE.
func (s *server) connectRemote(ctx context.Context) (*sdk.ClientSession, error) {
	hc := *s.m.opts.HTTPClient
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	hc.Transport = headerTransport{base: base, headers: s.cfg.Headers}
	cs, err := s.m.client.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: s.cfg.URL, HTTPClient: &hc, MaxRetries: -1}, nil)
	if err == nil {
		return cs, nil
	}
	if ctx.Err() != nil {
		return nil, err
	}
	// The SSE transport keeps its event stream on the context given to
	// Connect: give it one that lives until Close (or until this attempt
	// times out without a session).
	life, cancel := context.WithCancel(context.Background())
	var ok atomic.Bool
	go func() {
		select {
		case <-ctx.Done():
			if !ok.Load() {
				cancel()
			}
		case <-s.m.closed:
		}
		<-s.m.closed
		cancel()
	}()
	cs, err2 := s.m.client.Connect(ctx, lifetime{&sdk.SSEClientTransport{Endpoint: s.cfg.URL, HTTPClient: &hc}, life}, nil)
	ok.Store(err2 == nil)
	if err2 != nil {
		return nil, fmt.Errorf("streamable HTTP: %v; SSE: %w", err, err2)
	}
	return cs, nil
}

// lifetime connects a transport with its own context instead of the
// connection attempt's.
type lifetime struct {
	sdk.Transport
	ctx context.Context
}

func (l lifetime) Connect(context.Context) (sdk.Connection, error) { return l.Transport.Connect(l.ctx) }

// headerTransport adds the configured headers to every request.
type headerTransport struct {
	base    http.RoundTripper
	headers map[string]string
}

func (t headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if len(t.headers) > 0 {
		r = r.Clone(r.Context())
		for k, v := range t.headers {
			r.Header.Set(k, v)
		}
	}
	return t.base.RoundTrip(r)
}

// tail keeps the last max bytes written (a server's stderr, for errors).
type tail struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
