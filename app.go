package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"ocgo/atomicfile"
	"ocgo/childenv"
	"ocgo/confine"
	"ocgo/event"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"ocgo/bus"
	"ocgo/config"
	"ocgo/format"
	"ocgo/lsp"
	"ocgo/mcp"
	"ocgo/provider"
	"ocgo/routes"
	"ocgo/search"
	"ocgo/session"
	"ocgo/snapshot"
	"ocgo/storage"
	"ocgo/tool"
	"ocgo/trace"
	"ocgo/watcher"
)

// appConfig is everything newApp needs; serve fills it from flags and the
// environment, tests fill it directly.
type appConfig struct {
	Dir          string // project directory
	DataRoot     string // "" = $XDG_DATA_HOME/opencode
	Logger       *slog.Logger
	AllowedHosts []string
	CORS         []string
	Username     string
	Password     string
	Env          func(string) string
	NoTitles     bool // tests: no background title requests to the model
	ExistingData bool // fail with errNoData instead of creating the project's data folder
	// MCPTimeout overrides the MCP call timeout (tests).
	MCPTimeout time.Duration
	ReadOnly   bool // open the storage without the lock (storage.OpenReadOnly); CLI reads
	// Retry overrides the provider retry policy (tests use short delays);
	// nil means provider.DefaultRetryPolicy.
	Retry *provider.RetryPolicy
	// Heartbeat overrides the SSE heartbeat period (tests); 0 = 10 s.
	Heartbeat time.Duration
}

// app is one wired ocgo instance: store, bus, core and HTTP server.
type app struct {
	proj        project
	projectData string
	store       *storage.Store
	bus         *bus.Bus
	sessions    *session.Service
	server      *routes.Server
	watcher     *watcher.Watcher
	search      *search.Service
	fs          *confine.Root
	stop        context.CancelFunc
	snaps       *snapshot.Snapshotter
	mcp         *mcp.Manager
	lsp         *lsp.Service
	warm        sync.WaitGroup // the background first snapshot
}

// base is what every ocgo command opens for a project: its paths, config,
// locked storage and shadow repository (nil when snapshots are off).
type base struct {
	proj                                             project
	home, dataRoot, configDir, stateDir, projectData string
	cacheDir                                         string // $XDG_CACHE_HOME/opencode
	cfg                                              *config.Config
	store                                            *storage.Store
	snaps                                            *snapshot.Snapshotter
}

// openBase resolves the project and data paths, loads the config and opens
// the storage (taking the project's data lock unless ReadOnly) and the
// shadow repository.
func openBase(c appConfig) (*base, error) {
	b, err := basePaths(c)
	if err != nil {
		return nil, err
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Env == nil {
		c.Env = os.Getenv
	}
	if c.ExistingData {
		if _, err := os.Stat(b.projectData); err != nil {
			return nil, fmt.Errorf("%w: no sessions stored for %s under %s", errNoData, b.proj.root, b.dataRoot)
		}
	}

	b.cfg, err = config.Load(config.Options{
		Paths: config.Paths{Home: b.home, Config: b.configDir, Data: b.dataRoot, State: b.stateDir, Cwd: b.proj.cwd, Root: b.proj.root},
		Env:   c.Env, Logger: c.Logger,
	})
	if err != nil {
		return nil, err
	}
	gitDir := filepath.Join(b.projectData, "snapshots")
	if c.ReadOnly {
		if b.store, err = storage.OpenReadOnly(b.projectData, c.Logger); err != nil {
			return nil, err
		}
		if _, err := os.Stat(gitDir); err != nil {
			return b, nil // nothing was ever snapshotted; create nothing
		}
	} else if b.store, err = storage.Open(b.projectData, c.Logger); err != nil {
		return nil, err
	}
	b.snaps = openSnapshots(b.cfg, b.proj.root, gitDir, c.Logger)
	return b, nil
}

// basePaths resolves the project and its directories without opening
// anything.
func basePaths(c appConfig) (*base, error) {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Env == nil {
		c.Env = os.Getenv
	}
	cwd, err := filepath.Abs(c.Dir)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(cwd); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("--dir %s is not a directory", cwd)
	}
	b := &base{proj: findProject(cwd)}
	if b.home = c.Env("HOME"); !filepath.IsAbs(b.home) {
		b.home, _ = os.UserHomeDir()
	}
	xdg := func(env, fallback string) string {
		if v := c.Env(env); v != "" && filepath.IsAbs(v) {
			return v
		}
		return fallback
	}
	b.dataRoot = c.DataRoot
	if b.dataRoot == "" {
		b.dataRoot = filepath.Join(xdg("XDG_DATA_HOME", filepath.Join(b.home, ".local", "share")), "opencode")
	}
	b.configDir = filepath.Join(xdg("XDG_CONFIG_HOME", filepath.Join(b.home, ".config")), "opencode")
	b.stateDir = filepath.Join(xdg("XDG_STATE_HOME", filepath.Join(b.home, ".local", "state")), "opencode")
	b.cacheDir = filepath.Join(xdg("XDG_CACHE_HOME", filepath.Join(b.home, ".cache")), "opencode")
	b.projectData = filepath.Join(b.dataRoot, "project", b.proj.slug)
	return b, nil
}

// errNoData reports a project without stored data (ExistingData).
var errNoData = errors.New("no project data")

// close releases the shadow repository and the data lock.
func (b *base) close() error {
	if b.snaps != nil {
		b.snaps.Close()
	}
	return b.store.Close()
}

// newApp builds every part with its constructor and wires them.
func newApp(c appConfig) (*app, error) {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Env == nil {
		c.Env = os.Getenv
	}
	b, err := openBase(c)
	if err != nil {
		return nil, err
	}
	proj, home, dataRoot, configDir, stateDir, projectData := b.proj, b.home, b.dataRoot, b.configDir, b.stateDir, b.projectData
	cfg, store, snaps := b.cfg, b.store, b.snaps
	// opencode creates its global dirs at start; the TUI saves its state
	// file (<state>/tui) without creating the directory, so it must exist.
	for _, d := range []string{configDir, stateDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			b.close()
			return nil, err
		}
	}
	if err := hideDataFolder(proj.root, dataRoot); err != nil {
		b.close()
		return nil, err
	}
	auth := config.NewAuthStore(filepath.Join(dataRoot, "auth.json"))
	if n := auth.SweepTemps(); n > 0 {
		c.Logger.Info("Removed temp files of interrupted credential writes", "count", n)
	}
	catalog := provider.NewCatalog(provider.CatalogOptions{
		CacheFile: filepath.Join(b.cacheDir, "models.json"), URL: c.Env("OCGO_MODELS_URL"), Logger: c.Logger,
	})
	models, err := newModels(cfg, auth, c.Env, c.Retry, catalog, c.Logger)
	if err != nil {
		b.close()
		return nil, err
	}
	// Every file read or written on the project's behalf goes through
	// confine: no symlink out, no special file, no .git, and not ocgo's own
	// data folder when it lies inside the project.
	fsRoot, err := confine.Open(proj.cwd, confine.Options{Deny: []string{dataRoot}, AllowGit: c.Env("OCGO_TOOLS_ALLOW_GIT") == "1"})
	if err != nil {
		b.close()
		return nil, err
	}
	events := bus.New()
	ctx, stop := context.WithCancel(context.Background())
	// Refresh opencode's models.dev cache in the background, as the
	// original does at start: it never delays start-up, and offline it
	// fails quietly (the catalog then comes from the cache or the binary).
	catalog.RefreshInBackground(ctx, envTrue(c.Env("OPENCODE_DISABLE_MODELS_FETCH")))
	var searcher *search.Service
	w, err := watcher.New(watcher.Options{Root: proj.root, Logger: c.Logger, OnChange: func(changes []watcher.Change) {
		if searcher != nil {
			searcher.Notify(changes)
		}
		if snaps != nil {
			paths := make([]string, len(changes))
			for i, ch := range changes {
				paths[i] = ch.Path
			}
			snaps.MarkChanged(paths)
		}
		for _, ch := range changes {
			events.Publish(event.FileWatcherUpdated{File: filepath.Join(proj.root, filepath.FromSlash(ch.Path)), Event: ch.Event})
		}
	}})
	if err != nil {
		stop()
		b.close()
		return nil, err
	}
	var langs *lsp.Service // set below, before anything is served
	searcher, err = search.New(search.Options{Root: proj.root, Cwd: proj.cwd, Watcher: w, Logger: c.Logger, Deny: []string{dataRoot},
		Workspace: workspaceSymbols(&langs)})
	if err != nil {
		stop()
		w.Close()
		b.close()
		return nil, err
	}
	if err := w.Start(ctx); err != nil {
		stop()
		w.Close()
		b.close()
		return nil, err
	}
	// The agent's processes get the server's environment without any
	// secret ocgo knows of, by name and by value.
	scrub := childenv.New(os.Environ(), cfg.EnvNames(), func() []string {
		vals := append(cfg.Secrets(), c.Password)
		if all, err := auth.All(); err == nil {
			for _, a := range all {
				vals = append(vals, a.Key, a.Token, a.Refresh, a.Access)
			}
		}
		return vals
	})
	langs = newLSP(cfg, proj.root, events, c.Logger, scrub.Environ)
	mcps := newMCP(cfg, proj.cwd, events, c.Logger, c.MCPTimeout, scrub.Environ)
	ids := storage.NewIDs(nil)
	// Shell commands are traced so their patches hold only what they wrote;
	// OCGO_TRACE=0 turns that off (every change in the window is theirs).
	var tracer *trace.Tracer
	if c.Env("OCGO_TRACE") != "0" {
		tracer = trace.New(proj.root, c.Logger)
	}
	sessions := session.New(session.Options{
		Store: store, Bus: events, IDs: ids, Logger: c.Logger, Version: apiVersion,
		Cwd: proj.cwd, Root: proj.root, Shell: c.Env("SHELL"),
		Config: cfg, Models: models, Snapshots: snapshotsOrNil(snaps), FS: fsRoot, Files: w, ConfigDir: configDir, Titles: !c.NoTitles,
		Environ: scrub.Environ,
		Tracer:  tracer,
		Tools: tool.Registry(tool.Options{Tracer: tracer, Agents: func() []tool.AgentInfo { return subagents(cfg) }, Environ: scrub.Environ,
			AllowPrivateFetch: c.Env("OCGO_WEBFETCH_PRIVATE") == "1"}),
		MoreTools: mcps,
		EditHooks: editHooks{format: format.New(format.Options{Config: cfg.Formatter, Dir: proj.cwd, Root: proj.root, Environ: scrub.Environ, Logger: c.Logger}), lsp: langs},
	})
	mcps.Start()
	if err := sessions.RecoverReverts(ctx); err != nil {
		c.Logger.Warn("Could not finish an interrupted revert", "err", err)
	}
	if err := sessions.RecoverInterrupted(); err != nil {
		c.Logger.Warn("Could not complete every reply a crash interrupted", "err", err)
	}
	hostname, _ := os.Hostname()
	appInfo := func() routes.App {
		return routes.App{
			Hostname: hostname, Git: proj.git,
			Path: routes.AppPath{Home: home, Config: configDir, Data: projectData, Root: proj.root, Cwd: proj.cwd, State: stateDir},
			Time: routes.AppTime{Initialized: store.AppInitialized()},
		}
	}
	srv := routes.New(routes.Options{
		Sessions: sessions, Bus: events, Logger: c.Logger, Search: searcher, MCP: mcps,
		Configs: &configRoutes{cfg: cfg, auth: auth, providers: func() (any, error) {
			return providersAnswer(models, cfg), nil
		}},
		App:          appInfo,
		InitApp:      func() error { return store.SetAppInitialized(time.Now().UnixMilli()) },
		AllowedHosts: c.AllowedHosts, CORS: c.CORS,
		Username: c.Username, Password: c.Password, Heartbeat: c.Heartbeat,
		Scrub: map[string]string{projectData: "<data>", dataRoot: "<data-root>", proj.root: "<project>", home: "~"},
	})
	a := &app{proj: proj, projectData: projectData, store: store, bus: events, sessions: sessions, server: srv,
		watcher: w, search: searcher, fs: fsRoot, stop: stop, snaps: snaps, mcp: mcps, lsp: langs}
	if snaps != nil {
		// The first snapshot of a large tree takes a while: take it in the
		// background once the watcher's first walk is done, so a prompt's
		// first file change finds an incremental one.
		a.warm.Add(1)
		go func() {
			defer a.warm.Done()
			w.Version()
			if _, err := snaps.Track(ctx); err != nil && ctx.Err() == nil {
				c.Logger.Debug("first snapshot", "err", err)
			}
			// A first snapshot of a large tree allocates far more than it
			// keeps: give the difference back to the OS now, not minutes later.
			debug.FreeOSMemory()
		}()
	}
	return a, nil
}

// envTrue reports whether an on/off environment variable is on.
func envTrue(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// Handler is the guarded HTTP handler.
func (a *app) Handler() http.Handler { return a.server.Handler() }

// Shutdown ends SSE streams and TUI long-polls so the HTTP server can stop.
func (a *app) Shutdown() {
	a.bus.Shutdown()
	a.server.Close()
}

// Close stops the watcher and releases the data lock.
func (a *app) Close() error {
	a.sessions.Close()
	a.mcp.Close()
	a.lsp.Close()
	a.stop()
	a.warm.Wait()
	// Let a prune that follows a session delete finish before the shadow
	// repository closes; it waits for running sessions, so bound the wait
	// (an unfinished prune then fails harmlessly on the closed repository).
	pctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	_ = a.sessions.WaitPrune(pctx)
	cancel()
	a.watcher.Close()
	a.search.Close()
	a.fs.Close()
	if a.snaps != nil {
		a.snaps.Close()
	}
	return a.store.Close()
}

// openSnapshots opens the shadow repository unless the config turns
// snapshots off; a project that cannot be snapshotted (for example a home
// directory) runs without them, with a warning.
func openSnapshots(cfg *config.Config, root, gitDir string, logger *slog.Logger) *snapshot.Snapshotter {
	if cfg.Snapshot != nil && !*cfg.Snapshot {
		return nil
	}
	s, err := snapshot.Open(snapshot.Options{GitDir: gitDir, WorkTree: root, Logger: logger})
	if err != nil {
		logger.Warn("Snapshots disabled: revert will not restore files", "err", err)
		return nil
	}
	return s
}

// snapshotsOrNil keeps a nil *Snapshotter from becoming a non-nil interface.
func snapshotsOrNil(s *snapshot.Snapshotter) session.Snapshots {
	if s == nil {
		return nil
	}
	return s
}

// newMCP builds the MCP manager for the config's servers; a server that
// fails is announced as session.error without a session id, as opencode
// does.
func newMCP(cfg *config.Config, dir string, events *bus.Bus, logger *slog.Logger, timeout time.Duration, environ func() []string) *mcp.Manager {
	return mcp.New(mcp.Options{
		Servers: cfg.MCP, Dir: dir, Logger: logger, Version: apiVersion,
		Environ:     environ,
		CallTimeout: timeout,
		OnError: func(_ string, err error) {
			events.Publish(event.SessionError{
				Error: &storage.MessageError{Name: "UnknownError", Data: map[string]any{"message": err.Error()}},
			})
		},
	})
}

// hideDataFolder keeps ocgo's data folder out of every walk of the project
// when it lies inside it (serving $HOME, or --data-dir ./x): a ".gitignore"
// of "*" in it is honoured by the watcher, search, the tools and snapshots,
// the one ignore mechanism they share. Direct reads are refused by confine.
func hideDataFolder(root, dataRoot string) error {
	rel, err := filepath.Rel(root, dataRoot)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || rel == "." {
		return nil
	}
	p := filepath.Join(dataRoot, ".gitignore")
	if b, err := os.ReadFile(p); err == nil && string(b) == "*\n" {
		return nil
	}
	if err := os.MkdirAll(dataRoot, 0o700); err != nil {
		return err
	}
	return atomicfile.WriteFile(p, []byte("*\n"), 0o600)
}

// newLSP builds the language server service; servers start on the first
// file the agent writes. Published diagnostics go out as
// lsp.client.diagnostics, a server that fails as session.error (once).
func newLSP(cfg *config.Config, root string, events *bus.Bus, logger *slog.Logger, environ func() []string) *lsp.Service {
	return lsp.New(lsp.Options{
		Config: cfg.LSP, Root: root, Environ: environ, Logger: logger,
		OnDiagnostics: func(serverID, path string) {
			events.Publish(event.LSPClientDiagnostics{ServerID: serverID, Path: path})
		},
		OnError: func(_ string, err error) {
			events.Publish(event.SessionError{
				Error: &storage.MessageError{Name: "UnknownError", Data: map[string]any{"message": err.Error()}},
			})
		},
	})
}
