package main

// The shell sub-commands (sessions, show, export, import, patches, diff,
// revert, unrevert) work on a project's data without any client: they open
// the storage, the shadow repository and the session core directly, and go
// through the same core calls as the HTTP routes. Reading commands open the
// storage read-only, without the lock, so they work beside a running
// `ocgo serve` (every write is an atomic rename). Writing commands take the
// lock; when an `ocgo serve` holds it, they send the same request to that
// server over HTTP (its address is recorded in the lock file).

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"ocgo/app"
	"ocgo/relpath"
	"ocgo/session"
	"ocgo/storage"
)

// errUsage reports wrong arguments.
var errUsage = errors.New("usage")

// errNoSnapshots reports a project whose snapshots are off.
var errNoSnapshots = errors.New("snapshots are disabled for this project (config \"snapshot\": false, or the directory cannot be snapshotted)")

type cliFlags struct {
	dir, dataDir string
	json         bool
	output       string // export -o
	format       string // export --format json|markdown
	newIDs       bool   // import --new-ids
	dryRun       bool   // revert --dry-run
	args         []string
}

// parseCLI accepts flags before, between and after the positional
// arguments.
func parseCLI(cmd string, args []string, env func(string) string) (cliFlags, error) {
	f := cliFlags{dataDir: env("OCGO_DATA_DIR")}
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&f.dir, "dir", "", "")
	fs.StringVar(&f.dataDir, "data-dir", f.dataDir, "")
	fs.BoolVar(&f.json, "json", false, "")
	fs.StringVar(&f.output, "o", "", "")
	fs.StringVar(&f.output, "output", "", "")
	fs.StringVar(&f.format, "format", "json", "")
	fs.BoolVar(&f.newIDs, "new-ids", false, "")
	fs.BoolVar(&f.dryRun, "dry-run", false, "")
	for {
		if err := fs.Parse(args); err != nil {
			return f, fmt.Errorf("%w: %v", errUsage, err)
		}
		if fs.NArg() == 0 {
			return f, nil
		}
		f.args = append(f.args, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// cliCore is the part of ocgo the sub-commands need: storage, snapshots and
// the session core, without watcher, search or HTTP.
type cliCore struct {
	*app.Core
}

// cliConfig is the app.Config of a sub-command.
func cliConfig(f cliFlags, lookup func(string) (string, bool), stderr io.Writer, readOnly bool) (app.Config, error) {
	dir := f.dir
	if dir == "" {
		var err error
		if dir, err = os.Getwd(); err != nil {
			return app.Config{}, err
		}
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return app.Config{Dir: dir, DataRoot: f.dataDir, Logger: logger, LookupEnv: lookup, ExistingData: true, ReadOnly: readOnly}, nil
}

// lockedHelp explains what to do when `ocgo serve` holds the project data,
// naming the HTTP call that does the same job.
func lockedHelp(err error, cmd string, args []string) error {
	arg := func(i int, def string) string {
		if i < len(args) {
			return args[i]
		}
		return def
	}
	base := "http://127.0.0.1:4096"
	var call string
	switch cmd {
	case "sessions":
		call = "curl " + base + "/session"
	case "patches", "diff":
		call = "curl " + base + "/session/" + arg(0, "SESSION_ID") + "/message"
	case "revert":
		body := `{"messageID":"` + arg(1, "MESSAGE_ID") + `"`
		if len(args) > 2 {
			body += `,"partID":"` + args[2] + `"`
		}
		call = "curl -X POST " + base + "/session/" + arg(0, "SESSION_ID") + "/revert -H 'content-type: application/json' -d '" + body + "}'"
	case "unrevert":
		call = "curl -X POST " + base + "/session/" + arg(0, "SESSION_ID") + "/unrevert"
	}
	return fmt.Errorf("%w\nAn `ocgo serve` is running on this project. Stop it, or ask it over HTTP (adjust the port, add -u opencode:PASSWORD if set):\n  %s", err, call)
}

// runCLI runs one sub-command; args[0] is its name. lookup is the
// environment (os.LookupEnv in main).
func runCLI(args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) error {
	env := app.Getenv(lookup)
	cmd := args[0]
	f, err := parseCLI(cmd, args[1:], env)
	if err != nil {
		return err
	}
	want := map[string][2]int{"sessions": {0, 0}, "show": {1, 1}, "export": {1, 1}, "import": {1, 1},
		"patches": {1, 1}, "diff": {2, 2}, "revert": {2, 3}, "unrevert": {1, 1}}[cmd]
	if len(f.args) < want[0] || len(f.args) > want[1] {
		return fmt.Errorf("%w: wrong number of arguments for %s (see ocgo help)", errUsage, cmd)
	}
	if f.format != "json" && f.format != "markdown" {
		return fmt.Errorf("%w: --format must be json or markdown", errUsage)
	}
	writes := cmd == "revert" || cmd == "unrevert" || cmd == "import"
	cfg, err := cliConfig(f, lookup, stderr, !writes)
	if err != nil {
		return err
	}
	if cmd == "import" {
		cfg.ExistingData = false // importing into a project without sessions yet
	}
	core, err := app.OpenCore(cfg)
	if err != nil {
		if errors.Is(err, storage.ErrLocked) {
			if rc := remoteFor(cfg, env); rc != nil {
				return rc.run(cmd, f, stdout, stderr)
			}
			return lockedHelp(err, cmd, f.args)
		}
		return err
	}
	c := cliCore{core}
	defer c.Close()
	ctx := context.Background()
	switch cmd {
	case "sessions":
		return c.listSessions(f, stdout)
	case "show":
		return c.show(ctx, f, stdout, env)
	case "export":
		return c.exportCmd(ctx, f, stdout)
	case "import":
		return c.importCmd(ctx, f, stdout, stderr)
	case "patches":
		return c.listPatches(f, stdout)
	case "diff":
		return c.diff(ctx, f.args[0], f.args[1], stdout, stderr)
	case "revert":
		partID := ""
		if len(f.args) > 2 {
			partID = f.args[2]
		}
		return c.revert(ctx, f, partID, stdout, stderr)
	default:
		return c.unrevert(ctx, f, stdout, stderr)
	}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func revertState(rv *storage.Revert) string {
	if rv == nil {
		return "-"
	}
	if rv.PartID != "" {
		return "reverted to " + rv.MessageID + " part " + rv.PartID
	}
	return "reverted to " + rv.MessageID
}

// sessionRow is one session as `ocgo sessions` lists it.
type sessionRow struct {
	storage.Session
	Messages int     `json:"messages"`
	Cost     float64 `json:"cost"`
}

func (c *cliCore) listSessions(f cliFlags, stdout io.Writer) error {
	list := c.Sessions.List()
	rows := make([]sessionRow, 0, len(list))
	for _, s := range list {
		r := sessionRow{Session: s}
		msgs, _ := c.Sessions.Messages(s.ID)
		r.Messages = len(msgs)
		for _, m := range msgs {
			r.Cost += m.Info.Cost
		}
		rows = append(rows, r)
	}
	if f.json {
		return writeJSON(stdout, rows)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUPDATED\tMSGS\tCOST\tTITLE\tREVERT")
	for _, s := range rows {
		title := s.Title
		if s.ParentID != "" {
			title += " (child of " + s.ParentID + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", s.ID, time.UnixMilli(s.Time.Updated).Format("2006-01-02 15:04:05"),
			s.Messages, dollars(s.Cost), title, revertState(s.Revert))
	}
	return tw.Flush()
}

// dollars formats a cost in US dollars, with more digits for small sums.
func dollars(v float64) string {
	if v != 0 && v < 0.01 {
		return fmt.Sprintf("$%.4f", v)
	}
	return fmt.Sprintf("$%.2f", v)
}

// patchRow is one patch part as `ocgo patches` shows it.
type patchRow struct {
	MessageID string   `json:"messageID"`
	Role      string   `json:"role"`
	PartID    string   `json:"partID"`
	Tool      string   `json:"tool,omitempty"`
	CallID    string   `json:"callID,omitempty"`
	Hash      string   `json:"hash"`
	After     string   `json:"after,omitempty"`
	Files     []string `json:"files"`
	Reverted  bool     `json:"reverted"`
}

// rel makes a patch part's absolute file path relative to the project.
func (c *cliCore) rel(p string) string {
	r, ok := relpath.Within(c.Project.Root, p)
	if !ok {
		return p
	}
	return filepath.ToSlash(r)
}

func (c *cliCore) patchRows(sessionID string) ([]patchRow, error) {
	sess, err := c.Sessions.Get(sessionID)
	if err != nil {
		return nil, err
	}
	msgs, err := c.Sessions.Messages(sessionID)
	if err != nil {
		return nil, err
	}
	rows := []patchRow{}
	for _, m := range msgs {
		next := 0 // tool calls run in order: each patch follows the previous one's call
		for _, p := range m.Parts {
			if p.Type != storage.PartPatch {
				continue
			}
			r := patchRow{MessageID: m.Info.ID, Role: m.Info.Role, PartID: p.ID, Hash: p.Hash, After: p.After,
				Files: []string{}, Reverted: session.Reverted(sess.Revert, m.Info.ID, p.ID)}
			if i := toolOfPatch(m.Parts, p.ID, next); i >= 0 {
				r.Tool, r.CallID = m.Parts[i].Tool, m.Parts[i].CallID
				next = i + 1
			}
			for _, f := range p.Files {
				r.Files = append(r.Files, c.rel(f))
			}
			rows = append(rows, r)
		}
	}
	return rows, nil
}

// idMillis decodes the creation time of an ascending opencode ID, modulo
// 2^36 ms (the 12 hex digits hold ms*0x1000+counter in 48 bits).
func idMillis(id string) (int64, bool) {
	_, rest, ok := strings.Cut(id, "_")
	if !ok || len(rest) < 12 {
		return 0, false
	}
	v, err := strconv.ParseUint(rest[:12], 16, 64)
	if err != nil {
		return 0, false
	}
	return int64(v >> 12), true
}

// toolOfPatch finds the tool call that made a patch part: the patch is
// written after its call ran and before the call's end time is taken, so
// its ID's time lies within the call's run. A step's tool parts all come
// before its patches, hence the search by time, from index from on. It
// returns -1 when no call matches (e.g. a patch from another source).
func toolOfPatch(parts []storage.Part, patchID string, from int) int {
	at, ok := idMillis(patchID)
	if !ok {
		return -1
	}
	const mod = 1 << 36
	for i := from; i < len(parts); i++ {
		p := parts[i]
		if p.ID >= patchID {
			break
		}
		if p.Type != storage.PartTool || p.State == nil || p.State.Time == nil {
			continue
		}
		start, end := p.State.Time.Start%mod, p.State.Time.End%mod
		if end < start && p.State.Time.End != 0 {
			end += mod
		}
		t := at
		if t < start {
			t += mod
		}
		if t >= start && (p.State.Time.End == 0 || t <= end) {
			return i
		}
	}
	return -1
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	if h == "" {
		return "-"
	}
	return h
}

func (c *cliCore) listPatches(f cliFlags, stdout io.Writer) error {
	rows, err := c.patchRows(f.args[0])
	if err != nil {
		return err
	}
	if f.json {
		return writeJSON(stdout, rows)
	}
	if len(rows) == 0 {
		fmt.Fprintln(stdout, "no patches: the agent changed no files in this session")
		return nil
	}
	prev := ""
	for _, r := range rows {
		if r.MessageID != prev {
			fmt.Fprintf(stdout, "%s (%s)\n", r.MessageID, r.Role)
			prev = r.MessageID
		}
		tool := "-"
		if r.Tool != "" {
			tool = r.Tool + " " + r.CallID
		}
		mark := ""
		if r.Reverted {
			mark = "  [reverted]"
		}
		fmt.Fprintf(stdout, "  %s  tool %s  %s..%s%s\n", r.PartID, tool, short(r.Hash), short(r.After), mark)
		for _, file := range r.Files {
			fmt.Fprintf(stdout, "      %s\n", file)
		}
	}
	return nil
}

// diff prints what a message changed: from the tree before its first patch
// to the tree after its last, limited to the files its patches list.
func (c *cliCore) diff(ctx context.Context, sessionID, messageID string, stdout, stderr io.Writer) error {
	if c.Snapshots == nil {
		return errNoSnapshots
	}
	if !storage.ValidID(storage.PrefixMessage, messageID) {
		return fmt.Errorf("message %s: %w", messageID, storage.ErrNotFound)
	}
	patches, err := c.Sessions.Patches(sessionID, messageID)
	if err != nil {
		return err
	}
	if len(patches) == 0 {
		fmt.Fprintf(stderr, "ocgo: message %s changed no files\n", messageID)
		return nil
	}
	files := c.Sessions.PatchFiles(patches)
	to := patches[len(patches)-1].After
	if to == "" {
		fmt.Fprintln(stderr, "ocgo: the last patch has no recorded result; showing the files as they are now")
	}
	d, err := c.Snapshots.DiffPaths(ctx, patches[0].Hash, to, files)
	if err != nil {
		return err
	}
	_, err = io.WriteString(stdout, d)
	return err
}

func (c *cliCore) revert(ctx context.Context, f cliFlags, partID string, stdout, stderr io.Writer) error {
	if f.dryRun {
		pv, err := c.Sessions.PreviewRevert(ctx, f.args[0], f.args[1], partID)
		if err != nil {
			return err
		}
		return printPreview(f, pv, stdout, stderr)
	}
	sess, err := c.Sessions.Revert(ctx, f.args[0], f.args[1], partID)
	if err != nil {
		if ce, ok := errors.AsType[*session.ConflictError](err); ok {
			return fmt.Errorf("revert refused: %w\nThese files were edited after the agent wrote them; save or undo those edits first", ce)
		}
		return err
	}
	if f.json {
		return writeJSON(stdout, sess)
	}
	if c.Snapshots == nil {
		fmt.Fprintln(stderr, "ocgo: snapshots are disabled: the messages are marked reverted but no file was restored")
	}
	fmt.Fprintf(stderr, "ocgo: session %s %s; `ocgo unrevert %s` puts the changes back\n", sess.ID, revertState(sess.Revert), sess.ID)
	_, err = io.WriteString(stdout, sess.Revert.Diff)
	return err
}

func (c *cliCore) unrevert(ctx context.Context, f cliFlags, stdout, stderr io.Writer) error {
	sess, err := c.Sessions.Get(f.args[0])
	if err != nil {
		return err
	}
	if sess.Revert == nil {
		fmt.Fprintf(stderr, "ocgo: session %s has no revert to undo\n", sess.ID)
		if f.json {
			return writeJSON(stdout, sess)
		}
		return nil
	}
	var before string
	if c.Snapshots != nil {
		if before, err = c.Snapshots.Track(ctx); err != nil {
			return err
		}
	}
	if sess, err = c.Sessions.Unrevert(ctx, sess.ID); err != nil {
		return err
	}
	if f.json {
		return writeJSON(stdout, sess)
	}
	fmt.Fprintf(stderr, "ocgo: session %s unreverted\n", sess.ID)
	if before == "" {
		return nil
	}
	d, err := c.Snapshots.Diff(ctx, before, "")
	if err != nil {
		return err
	}
	_, err = io.WriteString(stdout, d)
	return err
}

// printPreview shows what a revert would do: the files and conflicts on
// stderr, the diff on stdout (or the whole preview as JSON).
func printPreview(f cliFlags, pv session.RevertPreview, stdout, stderr io.Writer) error {
	if f.json {
		return writeJSON(stdout, pv)
	}
	fmt.Fprintf(stderr, "ocgo: dry run: reverting to %s would change %d file(s); nothing was changed\n", pv.MessageID, len(pv.Files))
	for _, file := range pv.Files {
		mark := ""
		if file.Conflict {
			mark = "  CONFLICT: changed since the agent wrote it"
		}
		fmt.Fprintf(stderr, "  %-6s %s%s\n", file.Action, file.Path, mark)
	}
	if len(pv.Conflicts) > 0 {
		fmt.Fprintf(stderr, "ocgo: the revert would be refused: %s\n", strings.Join(pv.Conflicts, ", "))
	}
	_, err := io.WriteString(stdout, pv.Diff)
	return err
}
