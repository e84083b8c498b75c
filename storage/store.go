// Package storage keeps sessions, messages and parts as JSON files in
// opencode 0.5.x's layout, so that a person can read them with cat or jq and
// ocgo can open what opencode wrote (and the other way round):
//
//	<project>/storage/session/info/<sessionID>.json
//	<project>/storage/session/message/<sessionID>/<messageID>.json
//	<project>/storage/session/part/<sessionID>/<messageID>/<partID>.json
//
// Guarantees:
//   - Every write is atomic and durable (atomicfile.Write): when a Put returns,
//     the data survives a crash, so callers may publish events about it.
//   - A write that fails (disk full, I/O error) returns an error wrapping
//     ErrWrite and the errno; the old file stays whole, no temp file is left,
//     the in-memory index is not updated, and the store works again once the
//     disk does. Writes and removals go through the atomicfile.FS given to
//     OpenFS, so tests can inject those faults.
//   - A corrupt, truncated or empty file never hides the others: it is moved
//     to <project>/quarantine/ and logged once, and listing goes on.
//   - Only one ocgo process owns a project's data at a time (a flock on
//     <project>/ocgo.lock, released by the kernel if the process dies).
//   - Session metadata is indexed in memory at Open, so listing sessions
//     reads no files; messages and parts are cached per session on first use.
//
// Storage owns the wire types (Session, Message, Part, …) because they are
// exactly what is on disk and on the wire.
package storage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"ocgo/atomicfile"
)

// Errors returned by the store. Callers test them with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrInvalid  = errors.New("invalid")
	ErrLocked   = errors.New("project data is in use by another process")
	ErrCorrupt  = errors.New("corrupt file")
	// ErrWrite wraps a write or removal the file system refused (ENOSPC,
	// EIO, …); the error also wraps the file system's own error.
	ErrWrite = errors.New("could not save to disk")
)

// writeErr marks err as a failed write (nil stays nil).
func writeErr(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrWrite, err)
}

// Store is the JSON-file store of one project. It is safe for concurrent use.
type Store struct {
	dir    string // <data>/project/<slug>
	root   string // dir/storage
	logger *slog.Logger
	fs     atomicfile.FS // every write and removal goes through it
	lock   *dataLock     // nil when opened read-only
	// readOnly stores refuse writes and leave corrupt files where they are
	// (the owning process quarantines them); see OpenReadOnly.
	readOnly bool

	mu       sync.RWMutex
	sessions map[string]Session
	sorted   []Session                // sessions by time.updated desc; replaced, never modified in place
	listJSON []byte                   // the encoded sorted list; nil when stale
	convs    map[string]*conversation // message cache per session
}

type conversation struct {
	msgs  map[string]Message
	parts map[string]map[string]Part // messageID → partID → part
}

// Open takes the project's data lock and loads the session index.
func Open(dir string, logger *slog.Logger) (*Store, error) {
	return OpenFS(dir, logger, atomicfile.OS{})
}

// OpenFS is Open with writes and removals going through fsys (tests give
// a file system that fails on purpose; Open gives the OS's).
func OpenFS(dir string, logger *slog.Logger, fsys atomicfile.FS) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(filepath.Join(dir, "storage"), 0o700); err != nil {
		return nil, err
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	s := &Store{
		dir: dir, root: filepath.Join(dir, "storage"),
		logger: logger.With("component", "storage"), lock: lock, fs: fsys,
		sessions: map[string]Session{}, convs: map[string]*conversation{},
	}
	if err := s.loadSessions(); err != nil {
		_ = lock.Close()
		return nil, err
	}
	s.markMigrated()
	s.markDirty()
	return s, nil
}

// dirtyName marks a project whose owner has not closed it: present at Open
// means the previous owner crashed, so Open sweeps the temp files its
// interrupted writes left. A clean start costs one small write (not
// fsynced), not a walk.
const dirtyName = "ocgo.dirty"

// tempName matches atomicfile's temp files: "."+base+"."+digits+".tmp".
var tempName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\..+\.[0-9]+\.tmp$`) })

func (s *Store) markDirty() {
	p := filepath.Join(s.dir, dirtyName)
	if _, err := os.Stat(p); err == nil {
		n := s.sweepTemps()
		if n > 0 {
			s.logger.Info("Removed temp files left by a crash", "count", n)
		}
		return
	}
	// Without fsync: the marker only asks the next start to sweep temp
	// files. A power cut that loses it leaves at most a few hidden temp
	// files unswept, which no reader looks at, while two fsyncs on every
	// start were most of its cost.
	if err := atomicfile.WriteNoSync(s.fs, p, []byte("open\n"), 0o600); err != nil {
		s.logger.Warn("Could not write the open marker", "err", err)
	}
}

// sweepTemps removes atomicfile temp files under the project data folder.
func (s *Store) sweepTemps() int {
	n := 0
	_ = filepath.WalkDir(s.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if !d.IsDir() && tempName().MatchString(d.Name()) && s.fs.Remove(p) == nil {
			n++
		}
		return nil
	})
	return n
}

// Dir is the project data directory (<data>/project/<slug>).
func (s *Store) Dir() string { return s.dir }

// Close releases the data lock.
func (s *Store) Close() error {
	if s.lock == nil {
		return nil
	}
	if !s.readOnly {
		if s.fs.Remove(filepath.Join(s.dir, dirtyName)) == nil {
			_ = s.fs.SyncDir(s.dir)
		}
	}
	return s.lock.Close()
}

// markMigrated writes opencode's migration counter on a fresh store, so that
// opencode 0.5.x opening data written by ocgo does not rerun its migrations.
func (s *Store) markMigrated() {
	p := filepath.Join(s.root, "migration")
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		if err := atomicfile.Write(s.fs, p, []byte("3"), 0o600); err != nil {
			s.logger.Warn("Could not write migration marker", "err", err)
		}
	}
}

func (s *Store) loadSessions() error {
	sessions, err := loadDir(s, filepath.Join(s.root, "session", "info"), func(v *Session) string { return v.ID })
	if err != nil {
		return err
	}
	s.sessions = sessions
	s.sorted = make([]Session, 0, len(s.sessions))
	for _, v := range s.sessions {
		s.sorted = append(s.sorted, v)
	}
	slices.SortFunc(s.sorted, newer)
	return nil
}

// loadDir reads every <id>.json file of dir into a map by id. A file that
// does not decode, or whose id (idOf) is not its name, is quarantined and
// left out, so one bad file never hides the others. A missing dir holds
// nothing.
func loadDir[T any](s *Store, dir string, idOf func(*T) string) (map[string]T, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]T{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := make(map[string]T, len(entries))
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if e.IsDir() || !ok {
			continue
		}
		path := filepath.Join(dir, e.Name())
		var v T
		if err := s.readJSON(path, &v); err != nil {
			continue
		}
		if idOf(&v) != id {
			s.quarantine(path, "id does not match file name")
			continue
		}
		out[id] = v
	}
	return out, nil
}

// readJSON decodes path into v. A file that does not decode is quarantined
// and reported as ErrCorrupt; a missing file is ErrNotFound.
func (s *Store) readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		s.quarantine(path, err.Error())
		return ErrCorrupt
	}
	return nil
}

// quarantine moves a corrupt file out of the store, keeping its relative
// path under <dir>/quarantine so a person can inspect and restore it.
func (s *Store) quarantine(path, reason string) {
	if s.readOnly {
		s.logger.Warn("Skipped a corrupt file", "file", filepath.Base(path), "reason", reason)
		return
	}
	rel, err := filepath.Rel(s.root, path)
	if err != nil {
		rel = filepath.Base(path)
	}
	dst := filepath.Join(s.dir, "quarantine", rel+"."+time.Now().UTC().Format("20060102T150405.000"))
	if err := s.fs.MkdirAll(filepath.Dir(dst), 0o700); err == nil {
		err = s.fs.Rename(path, dst)
		if err == nil {
			s.logger.Warn("Moved corrupt file to quarantine", "file", rel, "reason", reason)
			return
		}
	}
	s.logger.Warn("Corrupt file could not be quarantined", "file", rel, "reason", reason, "err", err)
}

func (s *Store) writeJSON(path string, v any) error {
	if s.readOnly {
		return ErrReadOnly
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	data := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	return writeErr(atomicfile.Write(s.fs, path, data, 0o600))
}

func (s *Store) sessionPath(id string) string {
	return filepath.Join(s.root, "session", "info", id+".json")
}

// newer orders sessions newest update first, then by id.
func newer(a, b Session) int {
	switch {
	case a.Time.Updated > b.Time.Updated:
		return -1
	case a.Time.Updated < b.Time.Updated:
		return 1
	}
	return strings.Compare(a.ID, b.ID)
}

// Sessions returns every session, newest update first. The slice is a
// snapshot owned by the caller's read: the store never modifies a slice it
// has handed out (writes build a new one), so no copy is needed. It is
// never nil, so an empty store encodes as JSON [] (as opencode lists it), not null.
func (s *Store) Sessions() []Session {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.sorted == nil {
		return []Session{}
	}
	return s.sorted
}

// SessionsJSON returns the JSON array of Sessions(), encoded once per
// change: listing thousands of sessions is a memory copy, not a re-encode.
// Callers must not modify the slice.
func (s *Store) SessionsJSON() []byte {
	s.mu.RLock()
	if s.listJSON != nil {
		defer s.mu.RUnlock()
		return s.listJSON
	}
	s.mu.RUnlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listJSON == nil {
		var buf bytes.Buffer
		buf.WriteByte('[')
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		for i, v := range s.sorted {
			if i > 0 {
				buf.WriteByte(',')
			}
			_ = enc.Encode(v) // a Session always encodes
			buf.Truncate(buf.Len() - 1)
		}
		buf.WriteByte(']')
		s.listJSON = buf.Bytes()
	}
	return s.listJSON
}

// indexPut inserts or replaces v in the sorted index. Callers hold s.mu.
func (s *Store) indexPut(v Session) {
	s.listJSON = nil
	list := make([]Session, 0, len(s.sorted)+1)
	for _, e := range s.sorted {
		if e.ID != v.ID {
			list = append(list, e)
		}
	}
	i, _ := slices.BinarySearchFunc(list, v, newer)
	s.sorted = slices.Insert(list, i, v)
}

// Session returns one session.
func (s *Store) Session(id string) (Session, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v, ok := s.sessions[id]
	if !ok {
		return Session{}, fmt.Errorf("session %s: %w", id, ErrNotFound)
	}
	return v, nil
}

// PutSession writes a session durably and updates the index.
func (s *Store) PutSession(v Session) error {
	if err := CheckID("id", PrefixSession, v.ID); err != nil {
		return err
	}
	if err := s.writeJSON(s.sessionPath(v.ID), v); err != nil {
		return fmt.Errorf("write session %s: %w", v.ID, err)
	}
	s.mu.Lock()
	s.sessions[v.ID] = v
	s.indexPut(v)
	s.mu.Unlock()
	return nil
}

// DeleteSession removes a session's info, messages, parts and share files.
// Children are the caller's business.
func (s *Store) DeleteSession(id string) error {
	if err := CheckID("id", PrefixSession, id); err != nil {
		return err
	}
	s.mu.Lock()
	old, had := s.sessions[id]
	delete(s.sessions, id)
	delete(s.convs, id)
	s.sorted = slices.DeleteFunc(slices.Clone(s.sorted), func(e Session) bool { return e.ID == id })
	s.listJSON = nil
	s.mu.Unlock()
	var errs []error
	for _, p := range []string{
		filepath.Join(s.root, "session", "message", id),
		filepath.Join(s.root, "session", "part", id),
		filepath.Join(s.root, "session", "share", id+".json"),
		filepath.Join(s.root, "todo", id+".json"),
		s.sessionPath(id),
	} {
		if err := s.fs.RemoveAll(p); err != nil {
			errs = append(errs, err)
		}
	}
	if err := ignoreNotExist(s.fs.SyncDir(filepath.Join(s.root, "session", "info"))); err != nil {
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return nil
	}
	if _, err := os.Stat(s.sessionPath(id)); err == nil && had {
		// The info file is still there, so the session still exists:
		// keep it listed (its messages are read again from disk).
		s.mu.Lock()
		s.sessions[id] = old
		s.indexPut(old)
		s.mu.Unlock()
	}
	return writeErr(errors.Join(errs...))
}

// conv returns the cached conversation of a session, loading it from disk
// on first use. Callers hold s.mu for writing.
func (s *Store) conv(sessionID string) *conversation {
	if c, ok := s.convs[sessionID]; ok {
		return c
	}
	msgs, err := loadDir(s, filepath.Join(s.root, "session", "message", sessionID), func(m *Message) string { return m.ID })
	if err != nil {
		msgs = map[string]Message{} // unreadable: empty, as a missing directory is
	}
	c := &conversation{msgs: msgs, parts: make(map[string]map[string]Part, len(msgs))}
	for id := range msgs {
		c.parts[id], _ = loadDir(s, filepath.Join(s.root, "session", "part", sessionID, id), func(p *Part) string { return p.ID })
	}
	s.convs[sessionID] = c
	return c
}

func sortedParts(m map[string]Part) []Part {
	out := make([]Part, 0, len(m))
	for _, p := range m {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Part) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Messages returns a session's messages with their parts, by ascending id.
func (s *Store) Messages(sessionID string) ([]WithParts, error) {
	if err := CheckID("id", PrefixSession, sessionID); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.conv(sessionID)
	out := make([]WithParts, 0, len(c.msgs))
	for id, m := range c.msgs {
		out = append(out, WithParts{Info: m, Parts: sortedParts(c.parts[id])})
	}
	slices.SortFunc(out, func(a, b WithParts) int { return strings.Compare(a.Info.ID, b.Info.ID) })
	return out, nil
}

// Message returns one message with its parts.
func (s *Store) Message(sessionID, messageID string) (WithParts, error) {
	if err := CheckID("id", PrefixSession, sessionID); err != nil {
		return WithParts{}, err
	}
	if err := CheckID("messageID", PrefixMessage, messageID); err != nil {
		return WithParts{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.conv(sessionID)
	m, ok := c.msgs[messageID]
	if !ok {
		return WithParts{}, fmt.Errorf("message %s: %w", messageID, ErrNotFound)
	}
	return WithParts{Info: m, Parts: sortedParts(c.parts[messageID])}, nil
}

// PutMessage writes a message's info durably.
func (s *Store) PutMessage(m Message) error {
	if err := CheckID("sessionID", PrefixSession, m.SessionID); err != nil {
		return err
	}
	if err := CheckID("messageID", PrefixMessage, m.ID); err != nil {
		return err
	}
	p := filepath.Join(s.root, "session", "message", m.SessionID, m.ID+".json")
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.conv(m.SessionID)
	if err := s.writeJSON(p, m); err != nil {
		delete(s.convs, m.SessionID) // read again from disk, whatever the failure left there
		return fmt.Errorf("write message %s: %w", m.ID, err)
	}
	c.msgs[m.ID] = m
	if c.parts[m.ID] == nil {
		c.parts[m.ID] = map[string]Part{}
	}
	return nil
}

// PutPart writes a part durably.
func (s *Store) PutPart(p Part) error {
	if err := CheckID("sessionID", PrefixSession, p.SessionID); err != nil {
		return err
	}
	if err := CheckID("messageID", PrefixMessage, p.MessageID); err != nil {
		return err
	}
	if !ValidPartID(p.ID) {
		return fmt.Errorf("%w: partID must be 1-64 letters, digits, '_' or '-'", ErrInvalid)
	}
	path := filepath.Join(s.root, "session", "part", p.SessionID, p.MessageID, p.ID+".json")
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.conv(p.SessionID)
	if err := s.writeJSON(path, p); err != nil {
		delete(s.convs, p.SessionID) // read again from disk, whatever the failure left there
		return fmt.Errorf("write part %s: %w", p.ID, err)
	}
	if c.parts[p.MessageID] == nil {
		c.parts[p.MessageID] = map[string]Part{}
	}
	c.parts[p.MessageID][p.ID] = p
	return nil
}

// DeleteMessage removes a message and all of its parts.
func (s *Store) DeleteMessage(sessionID, messageID string) error {
	if err := CheckID("sessionID", PrefixSession, sessionID); err != nil {
		return err
	}
	if err := CheckID("messageID", PrefixMessage, messageID); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.conv(sessionID)
	delete(c.msgs, messageID)
	delete(c.parts, messageID)
	err := errors.Join(
		s.fs.RemoveAll(filepath.Join(s.root, "session", "part", sessionID, messageID)),
		ignoreNotExist(s.fs.Remove(filepath.Join(s.root, "session", "message", sessionID, messageID+".json"))),
	)
	if err == nil {
		err = ignoreNotExist(s.fs.SyncDir(filepath.Join(s.root, "session", "message", sessionID)))
	}
	if err != nil {
		delete(s.convs, sessionID) // read again from disk, whatever the failure left there
	}
	return writeErr(err)
}

// DeletePart removes one part.
func (s *Store) DeletePart(sessionID, messageID, partID string) error {
	if !ValidPartID(partID) {
		return fmt.Errorf("%w: partID must be 1-64 letters, digits, '_' or '-'", ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.conv(sessionID)
	delete(c.parts[messageID], partID)
	dir := filepath.Join(s.root, "session", "part", sessionID, messageID)
	err := ignoreNotExist(s.fs.Remove(filepath.Join(dir, partID+".json")))
	if err == nil {
		err = ignoreNotExist(s.fs.SyncDir(dir))
	}
	if err != nil {
		delete(s.convs, sessionID) // read again from disk, whatever the failure left there
	}
	return writeErr(err)
}

// GetJSON reads an auxiliary document (for example "todo/<sessionID>")
// into v. Keys are built by ocgo, never taken from a request.
func (s *Store) GetJSON(key string, v any) error {
	return s.readJSON(filepath.Join(s.root, filepath.FromSlash(key)+".json"), v)
}

// PutJSON writes an auxiliary document durably.
func (s *Store) PutJSON(key string, v any) error {
	return s.writeJSON(filepath.Join(s.root, filepath.FromSlash(key)+".json"), v)
}

// DeleteJSON removes an auxiliary document durably; a missing one is fine.
func (s *Store) DeleteJSON(key string) error {
	path := filepath.Join(s.root, filepath.FromSlash(key)+".json")
	err := s.fs.Remove(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return writeErr(err)
	}
	return writeErr(s.fs.SyncDir(filepath.Dir(path)))
}

// JSONKeys lists the auxiliary documents under dir (keys as GetJSON takes
// them, sorted); a missing dir has none.
func (s *Store) JSONKeys(dir string) ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(s.root, filepath.FromSlash(dir)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, e := range ents {
		if name, ok := strings.CutSuffix(e.Name(), ".json"); ok && e.Type().IsRegular() {
			keys = append(keys, dir+"/"+name)
		}
	}
	return keys, nil
}

// AppInitialized returns time.initialized from <project>/app.json (0 if unset).
func (s *Store) AppInitialized() int64 {
	var v struct {
		Initialized int64 `json:"initialized"`
	}
	data, err := os.ReadFile(filepath.Join(s.dir, "app.json"))
	if err == nil {
		_ = json.Unmarshal(data, &v)
	}
	return v.Initialized
}

// SetAppInitialized records time.initialized in <project>/app.json.
func (s *Store) SetAppInitialized(ms int64) error {
	return s.writeJSON(filepath.Join(s.dir, "app.json"), map[string]int64{"initialized": ms})
}

// ignoreNotExist treats a missing file as removed.
func ignoreNotExist(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
