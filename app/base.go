package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"

	"ocgo/bus"
	"ocgo/config"
	"ocgo/session"
	"ocgo/snapshot"
	"ocgo/storage"
)

// Project describes the served directory.
type Project struct {
	Cwd, Root string
	Git       bool
	Slug      string
}

var slugRe = regexp.MustCompile(`[^A-Za-z0-9_]`)

// FindProject locates the git root above cwd (the nearest directory holding
// .git) and derives opencode's project slug from it: path segments joined
// with "-", every other character replaced by "-". Unlike opencode, a
// non-git directory gets a slug of its own path rather than the shared
// "global", so two projects never share sessions or a shadow repository.
func FindProject(cwd string) Project {
	p := Project{Cwd: cwd, Root: cwd}
	for d := cwd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil {
			p.Root, p.Git = d, true
			break
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	var segs []string
	for _, s := range strings.Split(filepath.ToSlash(p.Root), "/") {
		if s != "" {
			segs = append(segs, s)
		}
	}
	p.Slug = slugRe.ReplaceAllString(strings.Join(segs, "-"), "-")
	if p.Slug == "" {
		p.Slug = "root"
	}
	return p
}

// Paths are the project and the directories ocgo keeps for it, resolved
// from the Config and its environment without opening anything.
type Paths struct {
	Project     Project
	Home        string
	DataRoot    string // $XDG_DATA_HOME/opencode, or Config.DataRoot
	ConfigDir   string // $XDG_CONFIG_HOME/opencode
	StateDir    string // $XDG_STATE_HOME/opencode
	CacheDir    string // $XDG_CACHE_HOME/opencode
	ProjectData string // <data>/project/<slug>
}

// ResolvePaths resolves the project and its directories.
func ResolvePaths(c Config) (Paths, error) {
	c = c.withDefaults()
	cwd, err := filepath.Abs(c.Dir)
	if err != nil {
		return Paths{}, err
	}
	if st, err := os.Stat(cwd); err != nil || !st.IsDir() {
		return Paths{}, fmt.Errorf("--dir %s is not a directory", cwd)
	}
	p := Paths{Project: FindProject(cwd), Home: homeDir(c.Env)}
	xdg := func(env, fallback string) string {
		if v := c.Env(env); v != "" && filepath.IsAbs(v) {
			return v
		}
		return fallback
	}
	p.DataRoot = c.DataRoot
	if p.DataRoot == "" {
		p.DataRoot = DataRoot(c.Env)
	}
	p.ConfigDir = filepath.Join(xdg("XDG_CONFIG_HOME", filepath.Join(p.Home, ".config")), "opencode")
	p.StateDir = filepath.Join(xdg("XDG_STATE_HOME", filepath.Join(p.Home, ".local", "state")), "opencode")
	p.CacheDir = filepath.Join(xdg("XDG_CACHE_HOME", filepath.Join(p.Home, ".cache")), "opencode")
	p.ProjectData = filepath.Join(p.DataRoot, "project", p.Project.Slug)
	return p, nil
}

// homeDir is $HOME of the injected environment when absolute, else the
// user's entry in the OS's user database (never the process's $HOME, which
// os.UserHomeDir would read behind the injected environment's back).
func homeDir(env func(string) string) string {
	if h := env("HOME"); filepath.IsAbs(h) {
		return h
	}
	if u, err := user.Current(); err == nil && filepath.IsAbs(u.HomeDir) {
		return u.HomeDir
	}
	return ""
}

// DataRoot is the default data root, $XDG_DATA_HOME/opencode
// (~/.local/share/opencode), as opencode uses it.
func DataRoot(env func(string) string) string {
	base := env("XDG_DATA_HOME")
	if !filepath.IsAbs(base) {
		base = filepath.Join(homeDir(env), ".local", "share")
	}
	return filepath.Join(base, "opencode")
}

// ErrNoData reports a project without stored data (Config.ExistingData).
var ErrNoData = errors.New("no project data")

// Core is what every ocgo command opens for a project: its paths, config,
// storage and shadow repository (nil when snapshots are off), and, from
// OpenCore, the session core without watcher, search or HTTP.
type Core struct {
	Paths
	Cfg       *config.Config
	Store     *storage.Store
	Snapshots *snapshot.Snapshotter
	Sessions  *session.Service
	cl        *cleanup
}

// openBase resolves the project and data paths, loads the config and opens
// the storage (taking the project's data lock unless ReadOnly) and the
// shadow repository, registering their closers on cl.
func openBase(c Config, cl *cleanup) (*Core, error) {
	c = c.withDefaults()
	p, err := ResolvePaths(c)
	if err != nil {
		return nil, err
	}
	b := &Core{Paths: p, cl: cl}
	if c.ExistingData {
		if _, err := os.Stat(p.ProjectData); err != nil {
			return nil, fmt.Errorf("%w: no sessions stored for %s under %s", ErrNoData, p.Project.Root, p.DataRoot)
		}
	}
	b.Cfg, err = config.Load(config.Options{
		Paths: config.Paths{Home: p.Home, Config: p.ConfigDir, Data: p.DataRoot, State: p.StateDir, Cwd: p.Project.Cwd, Root: p.Project.Root},
		Env:   c.Env, Logger: c.Logger, Remote: c.remote,
	})
	if err != nil {
		return nil, err
	}
	gitDir := filepath.Join(p.ProjectData, "snapshots")
	if c.ReadOnly {
		if b.Store, err = storage.OpenReadOnly(p.ProjectData, c.Logger); err != nil {
			return nil, err
		}
		cl.push(b.Store.Close)
		if _, err := os.Stat(gitDir); err != nil {
			return b, nil // nothing was ever snapshotted; create nothing
		}
	} else {
		if b.Store, err = openStore(p.ProjectData, c); err != nil {
			return nil, err
		}
		cl.push(b.Store.Close)
	}
	if b.Snapshots = openSnapshots(b.Cfg, snapshot.Options{GitDir: gitDir, WorkTree: p.Project.Root, Home: p.Home, Env: c.LookupEnv, Logger: c.Logger, Checkpoint: c.Checkpoint}); b.Snapshots != nil {
		cl.push(b.Snapshots.Close)
	}
	return b, nil
}

// openStore opens the project's session store, taking its data lock.
func openStore(dir string, c Config) (*storage.Store, error) {
	if c.StorageFS != nil {
		return storage.OpenFS(dir, c.Logger, c.StorageFS)
	}
	return storage.Open(dir, c.Logger)
}

// OpenCore opens what the session sub-commands need: the base and the
// session core, with interrupted reverts finished.
func OpenCore(c Config) (*Core, error) {
	c = c.withDefaults()
	b, err := openBase(c, &cleanup{})
	if err != nil {
		return nil, err
	}
	b.Sessions = session.New(session.Options{
		Store: b.Store, Bus: bus.New(), Logger: c.Logger, Version: APIVersion,
		Cwd: b.Project.Cwd, Root: b.Project.Root, Shell: c.Env("SHELL"), Config: b.Cfg,
		Snapshots: snapshotsOrNil(b.Snapshots), ConfigDir: b.ConfigDir, Home: b.Home,
	})
	if err := b.Sessions.RecoverReverts(context.Background()); err != nil {
		c.Logger.Warn("Could not finish an interrupted revert", "err", err)
	}
	return b, nil
}

// Close releases the shadow repository and the data lock.
func (b *Core) Close() error { return b.cl.close() }

// openSnapshots opens the shadow repository unless the config turns
// snapshots off; a project that cannot be snapshotted (for example a home
// directory) runs without them, with a warning.
func openSnapshots(cfg *config.Config, o snapshot.Options) *snapshot.Snapshotter {
	if cfg.Snapshot != nil && !*cfg.Snapshot {
		return nil
	}
	s, err := snapshot.Open(o)
	if err != nil {
		o.Logger.Warn("Snapshots disabled: revert will not restore files", "err", err)
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
