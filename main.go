// Command ocgo is a local-first server for the opencode 0.5.x API: one
// process serves one project directory to the stock opencode clients.
//
// main only parses flags and dispatches the sub-commands; package app
// builds every part and wires them together, and nothing else in ocgo
// knows about more than its own neighbours.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"ocgo/app"
	"ocgo/childenv"
)

const usage = `ocgo — a local-first server for the opencode 0.5.x API

Usage:
  ocgo serve [flags]     serve the project in the current directory (or --dir)
  ocgo sessions          list the project's sessions (id, updated, messages, cost, title, revert state)
  ocgo show SESSION      the conversation: text, reasoning (folded), tool calls, patches, revert state
  ocgo export SESSION [-o FILE] [--format json|markdown]   one JSON document (or a transcript)
  ocgo import FILE [--new-ids]   load an exported session into this project's data
  ocgo patches SESSION   list a session's patches: files each tool call changed
  ocgo diff SESSION MSG  show the unified diff of what a message changed
  ocgo revert SESSION MSG [PART]   undo the agent's changes from MSG (or PART) on
                                   (--dry-run: list the files, conflicts and diff only)
  ocgo unrevert SESSION  put back what the last revert undid
  ocgo auth login github-copilot   log in to GitHub Copilot (device flow)
  ocgo help              show this help

The session commands take --dir D and --data-dir D as serve does, and
--json for JSON output. They also work while ocgo serve runs on the
project: reads go to the files directly, and revert, unrevert and import
are sent to the running server over HTTP.

Serve flags:
  -p, --port N           port to listen on (default 4096; 0 picks a free port)
  -h, --hostname H       address to bind (default 127.0.0.1)
      --dir D            project directory (default: the current directory)
      --data-dir D       data root (default $XDG_DATA_HOME/opencode or ~/.local/share/opencode)
      --cors ORIGIN      allow cross-origin calls from ORIGIN (repeatable)
      --allow-host H     accept requests whose Host is H, besides loopback names (repeatable)
      --insecure-bind    allow a non-loopback bind without OPENCODE_SERVER_PASSWORD
      --strict-origin    refuse every request with an Origin or Referer header (no browser
                         can call the API; for terminal and editor clients)
      --log-level L      debug, info, warn or error (default info)

Environment:
  OPENCODE_SERVER_PASSWORD   require HTTP Basic auth with this password
  OPENCODE_SERVER_USERNAME   Basic auth user name (default "opencode")
  OCGO_DATA_DIR              data root, like --data-dir
  OPENCODE_CONFIG            an extra config file merged last
  OPENCODE_DISABLE_MODELS_FETCH=1  do not refresh the models.dev catalog cache at start
  OCGO_MODELS_URL            where to refresh the catalog from (default https://models.dev/api.json)
  XDG_DATA_HOME, XDG_CONFIG_HOME, XDG_STATE_HOME   base directories, as opencode uses them
  ANTHROPIC_API_KEY, OPENAI_API_KEY, …              provider keys (or PUT /auth/:id, or opencode.json)

On start ocgo prints "opencode server listening on http://HOST:PORT" on stdout.
Sessions live in <data>/project/<slug>/storage as opencode 0.5.x writes them.
`

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "ocgo:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stdout, usage)
		return nil
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stdout, stderr)
	case "sessions", "show", "export", "import", "patches", "diff", "revert", "unrevert":
		return runCLI(args, os.LookupEnv, stdout, stderr)
	case "auth":
		return authCommand(args[1:], os.Getenv, stdout)
	case "help", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q (see ocgo help)", args[0])
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

type serveFlags struct {
	port         int
	hostname     string
	dir          string
	dataDir      string
	cors, hosts  listFlag
	insecureBind bool
	strictOrigin bool
	logLevel     string
}

func parseServe(args []string, stderr io.Writer) (serveFlags, error) {
	var f serveFlags
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.IntVar(&f.port, "port", 4096, "")
	fs.IntVar(&f.port, "p", 4096, "")
	fs.StringVar(&f.hostname, "hostname", "127.0.0.1", "")
	fs.StringVar(&f.hostname, "h", "127.0.0.1", "")
	fs.StringVar(&f.dir, "dir", "", "")
	fs.StringVar(&f.dataDir, "data-dir", os.Getenv("OCGO_DATA_DIR"), "")
	fs.Var(&f.cors, "cors", "")
	fs.Var(&f.hosts, "allow-host", "")
	fs.BoolVar(&f.insecureBind, "insecure-bind", false, "")
	fs.BoolVar(&f.strictOrigin, "strict-origin", false, "")
	fs.StringVar(&f.logLevel, "log-level", "info", "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stderr, usage)
		}
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return f, nil
}

func serve(args []string, stdout, stderr io.Writer) error {
	f, err := parseServe(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	// Before anything else runs: the startup environment (password, API
	// keys) leaves /proc/<pid>/environ and the process becomes
	// non-dumpable, so the agent's processes cannot read either.
	if err := childenv.Harden(); err != nil {
		logger.Warn("Could not fully hide the environment from child processes", "err", err)
	}
	cwd := f.dir
	if cwd == "" {
		if cwd, err = os.Getwd(); err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return app.Serve(ctx, app.Config{
		Dir: cwd, DataRoot: f.dataDir, Logger: logger, CORS: f.cors, StrictOrigin: f.strictOrigin,
		Username: os.Getenv("OPENCODE_SERVER_USERNAME"), Password: os.Getenv("OPENCODE_SERVER_PASSWORD"),
		LookupEnv: os.LookupEnv,
	}, app.Listen{Hostname: f.hostname, Port: f.port, AllowHosts: f.hosts, InsecureBind: f.insecureBind}, stdout)
}
