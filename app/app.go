// Package app wires ocgo: it builds every part with its constructor and
// connects them, and it is the only package that knows about all of them.
// Every part it builds goes on one cleanup stack as soon as it exists, so
// a failed start and a shut-down release the same parts in reverse order,
// once. The serve command (Serve) runs an App behind an HTTP server; the
// session sub-commands open only the storage, the shadow repository and
// the session core (OpenCore).
package app

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"ocgo/atomicfile"
	"ocgo/bus"
	"ocgo/childenv"
	"ocgo/config"
	"ocgo/confine"
	"ocgo/event"
	"ocgo/format"
	"ocgo/lsp"
	"ocgo/mcp"
	"ocgo/provider"
	"ocgo/relpath"
	"ocgo/routes"
	"ocgo/search"
	"ocgo/session"
	"ocgo/snapshot"
	"ocgo/storage"
	"ocgo/tool"
	"ocgo/trace"
	"ocgo/watcher"
)

// APIVersion is the opencode release whose API ocgo serves; it is written
// into new sessions' "version" as opencode does.
const APIVersion = "0.5.29"

// Config is everything New needs; the serve command fills it from flags
// and the environment, tests fill it directly.
type Config struct {
	Dir          string // project directory
	DataRoot     string // "" = $XDG_DATA_HOME/opencode
	Logger       *slog.Logger
	AllowedHosts []string
	CORS         []string
	StrictOrigin bool // refuse every request carrying Origin or Referer (routes.Options.StrictOrigin)
	Username     string
	Password     string
	// Env is the process environment as ocgo sees it; every lookup of a
	// variable goes through it (nil: LookupEnv's values, else os.Getenv).
	Env func(string) string
	// LookupEnv is the same environment telling a variable set but empty
	// from an unset one, as git's variables need (GIT_CONFIG_GLOBAL=""
	// means no global config): the ignore rules of the watcher and the
	// snapshots read git's variables through it. nil: from Env, an empty
	// value counting as unset (main passes os.LookupEnv and leaves Env nil).
	LookupEnv    func(string) (string, bool)
	NoTitles     bool // tests: no background title requests to the model
	ExistingData bool // fail with ErrNoData instead of creating the project's data folder
	// MCPTimeout overrides the MCP call timeout (tests).
	MCPTimeout time.Duration
	ReadOnly   bool // open the storage without the lock (storage.OpenReadOnly); CLI reads
	// Retry overrides the provider retry policy (tests use short delays);
	// nil means provider.DefaultRetryPolicy.
	Retry *provider.RetryPolicy
	// Heartbeat overrides the SSE heartbeat period (tests); 0 = 10 s.
	Heartbeat time.Duration
	// StorageFS is the file system under the session store (tests inject
	// disk faults with atomicfile/faultfs); nil = the OS's.
	StorageFS atomicfile.FS
	// Checkpoint is called at each step of a revert that changes the disk
	// (session.Options.Checkpoint, snapshot.Options.Checkpoint): tests kill
	// the process there. nil in production.
	Checkpoint func(step string)

	remote []config.Remote // auth.json wellknown configs (withWellKnown)
}

// withDefaults fills the Logger and Env a caller left nil.
func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case c.Env == nil && c.LookupEnv == nil:
		c.Env, c.LookupEnv = os.Getenv, os.LookupEnv
	case c.LookupEnv == nil:
		env := c.Env
		c.LookupEnv = func(k string) (string, bool) {
			v := env(k)
			return v, v != ""
		}
	case c.Env == nil:
		c.Env = Getenv(c.LookupEnv)
	}
	return c
}

// Getenv is lookup's values alone, "" for an unset variable.
func Getenv(lookup func(string) (string, bool)) func(string) string {
	return func(k string) string {
		v, _ := lookup(k)
		return v
	}
}

// App is one wired ocgo instance: store, bus, core and HTTP handler.
type App struct {
	paths    Paths
	store    *storage.Store
	bus      *bus.Bus
	sessions *session.Service
	server   *routes.Server
	watcher  *watcher.Watcher
	snaps    *snapshot.Snapshotter
	cl       cleanup
	warm     sync.WaitGroup // the background first snapshot
}

// New builds every part with its constructor and wires them. Each part's
// closer goes on the App's cleanup stack as soon as the part exists, so a
// failure half-way releases exactly what was built, in reverse order.
func New(c Config) (*App, error) {
	c = c.withDefaults()
	a := &App{}
	c = withWellKnown(c.withDefaults())
	b, err := openBase(c, &a.cl)
	if err != nil {
		_ = a.cl.close()
		return nil, err
	}
	if err := a.wire(c, b); err != nil {
		_ = a.cl.close()
		return nil, err
	}
	return a, nil
}

func (a *App) wire(c Config, b *Core) error {
	a.paths, a.store, a.snaps = b.Paths, b.Store, b.Snapshots
	proj, home, dataRoot, configDir, stateDir, projectData := b.Project, b.Home, b.DataRoot, b.ConfigDir, b.StateDir, b.ProjectData
	cfg, store, snaps := b.Cfg, b.Store, b.Snapshots
	// opencode creates its global dirs at start; the TUI saves its state
	// file (<state>/tui) without creating the directory, so it must exist.
	for _, d := range []string{configDir, stateDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := hideDataFolder(proj.Root, dataRoot); err != nil {
		return err
	}
	auth := config.NewAuthStore(filepath.Join(dataRoot, "auth.json"))
	if n := auth.SweepTemps(); n > 0 {
		c.Logger.Info("Removed temp files of interrupted credential writes", "count", n)
	}
	catalog := provider.NewCatalog(provider.CatalogOptions{
		CacheFile: filepath.Join(b.CacheDir, "models.json"), URL: c.Env("OCGO_MODELS_URL"), Logger: c.Logger,
	})
	models, err := newModels(cfg, auth, c.Env, c.Retry, catalog, c.Logger)
	if err != nil {
		return err
	}
	// Every file read or written on the project's behalf goes through
	// confine: no symlink out, no special file, no .git, and not ocgo's own
	// data folder when it lies inside the project.
	fsRoot, err := confine.Open(proj.Cwd, confine.Options{Deny: []string{dataRoot}, AllowGit: c.Env("OCGO_TOOLS_ALLOW_GIT") == "1"})
	if err != nil {
		return err
	}
	a.cl.push(fsRoot.Close)
	events := bus.New()
	a.bus = events
	var searcher *search.Service
	w, err := watcher.New(watcher.Options{Root: proj.Root, Logger: c.Logger, Env: c.LookupEnv, OnChange: func(changes []watcher.Change) {
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
			events.Publish(event.FileWatcherUpdated{File: filepath.Join(proj.Root, filepath.FromSlash(ch.Path)), Event: ch.Event})
		}
	}})
	if err != nil {
		return err
	}
	a.watcher = w
	// The watcher stops before the search service it feeds.
	a.cl.push(func() error {
		err := w.Close()
		if searcher != nil {
			err = errors.Join(err, searcher.Close())
		}
		return err
	})
	var langs *lsp.Service // set below, before anything is served
	searcher, err = search.New(search.Options{Root: proj.Root, Cwd: proj.Cwd, Watcher: w, Logger: c.Logger, Deny: []string{dataRoot},
		Workspace: workspaceSymbols(&langs)})
	if err != nil {
		return err
	}
	// Background work (the watcher, the catalog refresh, the first
	// snapshot) runs under ctx: it is cancelled, and the first snapshot
	// waited for, before the watcher and the repository close.
	ctx, stop := context.WithCancel(context.Background())
	a.cl.pushFunc(a.warm.Wait)
	a.cl.pushFunc(stop)
	// Refresh opencode's models.dev cache in the background, as the
	// original does at start: it never delays start-up, and offline it
	// fails quietly (the catalog then comes from the cache or the binary).
	catalog.RefreshInBackground(ctx, envTrue(c.Env("OPENCODE_DISABLE_MODELS_FETCH")))
	if err := w.Start(ctx); err != nil {
		return err
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
	langs = newLSP(cfg, proj.Root, events, c.Logger, scrub.Environ)
	a.cl.pushFunc(langs.Close)
	mcps := newMCP(cfg, proj.Cwd, events, c.Logger, c.MCPTimeout, scrub.Environ)
	a.cl.pushFunc(func() { mcps.Close() })
	ids := storage.NewIDs(nil)
	// Shell commands are traced so their patches hold only what they wrote;
	// OCGO_TRACE=0 turns that off (every change in the window is theirs).
	var tracer *trace.Tracer
	if c.Env("OCGO_TRACE") != "0" {
		tracer = trace.New(proj.Root, c.Logger)
	}
	sessions := session.New(session.Options{
		Store: store, Bus: events, IDs: ids, Logger: c.Logger, Version: APIVersion,
		Cwd: proj.Cwd, Root: proj.Root, Shell: c.Env("SHELL"),
		Config: cfg, Models: models, Snapshots: snapshotsOrNil(snaps), FS: fsRoot, Files: w, Search: searcher, ConfigDir: configDir, Home: home, Titles: !c.NoTitles,
		Environ: scrub.Environ,
		Tracer:  tracer,
		Tools: tool.Registry(tool.Options{Tracer: tracer, Agents: func() []tool.AgentInfo { return subagents(cfg) }, Environ: scrub.Environ, Env: c.Env,
			AllowPrivateFetch: c.Env("OCGO_WEBFETCH_PRIVATE") == "1"}),
		MoreTools:  mcps,
		EditHooks:  editHooks{format: format.New(format.Options{Config: cfg.Formatter, Dir: proj.Cwd, Root: proj.Root, Environ: scrub.Environ, Logger: c.Logger}), lsp: langs},
		Checkpoint: c.Checkpoint,
	})
	a.sessions = sessions
	// Let a prune that follows a session delete finish before the shadow
	// repository closes; it waits for running sessions, so bound the wait
	// (an unfinished prune then fails harmlessly on the closed repository).
	a.cl.pushFunc(func() {
		pctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = sessions.WaitPrune(pctx)
		cancel()
	})
	a.cl.pushFunc(sessions.Close)
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
			Hostname: hostname, Git: proj.Git,
			Path: routes.AppPath{Home: home, Config: configDir, Data: projectData, Root: proj.Root, Cwd: proj.Cwd, State: stateDir},
			Time: routes.AppTime{Initialized: store.AppInitialized()},
		}
	}
	a.server = routes.New(routes.Options{
		Sessions: sessions, Bus: events, Logger: c.Logger, Search: searcher, MCP: mcps,
		Configs:      &configRoutes{cfg: cfg, auth: auth, models: models},
		App:          appInfo,
		InitApp:      func() error { return store.SetAppInitialized(time.Now().UnixMilli()) },
		AllowedHosts: c.AllowedHosts, CORS: c.CORS, StrictOrigin: c.StrictOrigin,
		Username: c.Username, Password: c.Password, Heartbeat: c.Heartbeat,
		Scrub: map[string]string{projectData: "<data>", dataRoot: "<data-root>", proj.Root: "<project>", home: "~"},
	})
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
	return nil
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
func (a *App) Handler() http.Handler { return a.server.Handler() }

// Shutdown ends SSE streams and TUI long-polls so the HTTP server can stop.
func (a *App) Shutdown() {
	a.bus.Shutdown()
	a.server.Close()
}

// Close stops the sessions, the background work and the watcher, closes the
// shadow repository and releases the data lock, in the reverse order of
// construction; later calls do nothing.
func (a *App) Close() error { return a.cl.close() }

// Paths are the project and the directories the App serves.
func (a *App) Paths() Paths { return a.paths }

// ProjectData is <data>/project/<slug>, where the sessions are stored.
func (a *App) ProjectData() string { return a.paths.ProjectData }

// Store is the project's storage.
func (a *App) Store() *storage.Store { return a.store }

// Sessions is the session core.
func (a *App) Sessions() *session.Service { return a.sessions }

// Snapshots is the shadow repository (nil when snapshots are off).
func (a *App) Snapshots() *snapshot.Snapshotter { return a.snaps }

// Watcher is the project's file watcher.
func (a *App) Watcher() *watcher.Watcher { return a.watcher }

// Routes lists the HTTP routes the App serves.
func (a *App) Routes() []routes.RouteInfo { return a.server.Routes() }

// newMCP builds the MCP manager for the config's servers; a server that
// fails is announced as session.error without a session id, as opencode
// does.
func newMCP(cfg *config.Config, dir string, events *bus.Bus, logger *slog.Logger, timeout time.Duration, environ func() []string) *mcp.Manager {
	return mcp.New(mcp.Options{
		Servers: cfg.MCP, Dir: dir, Logger: logger, Version: APIVersion,
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
	if rel, ok := relpath.Within(root, dataRoot); !ok || rel == "." {
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
