package session

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"

	"ocgo/event"
	"ocgo/snapshot"
	"ocgo/storage"
	"ocgo/tool"
)

// ExportFormat names the version of the export document.
const ExportFormat = "ocgo-session/1"

// ErrExists reports an import whose session is already stored.
var ErrExists = errors.New("already exists")

// Export is one session as a single JSON document (`ocgo export`,
// GET /session/:id/export; `ocgo import` and POST /session/import read it).
// Info and Messages have opencode's shapes ({info, messages: [{info,
// parts}]}, as later opencode versions export); Todos is the todo list and
// Objects the snapshot objects the patches and the revert point need, so
// that diff, revert and unrevert work in the importing project.
//
// Paths under the project root (patch files, an assistant message's path)
// are written relative to it, so the document does not depend on where
// the project lives: exporting an imported session gives the same bytes.
// A shared session is exported without its share link.
type Export struct {
	Format   string              `json:"format"`
	Info     storage.Session     `json:"info"`
	Messages []storage.WithParts `json:"messages"`
	Todos    []tool.Todo         `json:"todos"`
	Objects  []snapshot.Object   `json:"objects"`
}

// objectCopier is the part of snapshot.Snapshotter that copies objects
// between shadow repositories.
type objectCopier interface {
	Objects(ctx context.Context, trees, paths []string) ([]snapshot.Object, error)
	AddObjects(ctx context.Context, objs []snapshot.Object) error
}

// Export builds the export document of a session.
func (s *Service) Export(ctx context.Context, sessionID string) (Export, error) {
	sess, err := s.Get(sessionID)
	if err != nil {
		return Export{}, err
	}
	msgs, err := s.store.Messages(sessionID)
	if err != nil {
		return Export{}, err
	}
	todos, err := todoStore{s.store}.Get(sessionID)
	if err != nil {
		return Export{}, err
	}
	sess.Share = nil
	doc := Export{Format: ExportFormat, Info: sess, Messages: msgs, Todos: todos, Objects: []snapshot.Object{}}
	var trees, files []string
	for i, m := range doc.Messages {
		if m.Info.Path != nil {
			p := *m.Info.Path
			p.Cwd, p.Root = s.toDoc(p.Cwd), s.toDoc(p.Root)
			doc.Messages[i].Info.Path = &p
		}
		for j, p := range m.Parts {
			if p.Type != storage.PartPatch {
				continue
			}
			out := make([]string, len(p.Files))
			for k, f := range p.Files {
				out[k] = s.toDoc(f)
				if !filepath.IsAbs(out[k]) {
					files = append(files, out[k])
				}
			}
			doc.Messages[i].Parts[j].Files = out
			trees = append(trees, p.Hash, p.After)
		}
	}
	if sess.Revert != nil {
		trees = append(trees, sess.Revert.Snapshot)
	}
	trees = slices.DeleteFunc(trees, func(t string) bool { return t == "" })
	if oc, ok := s.opts.Snapshots.(objectCopier); ok && len(trees) > 0 {
		if doc.Objects, err = oc.Objects(ctx, trees, files); err != nil {
			return Export{}, fmt.Errorf("export snapshot objects: %w", err)
		}
	}
	return doc, nil
}

// toDoc makes a path under the project root relative ("." for the root).
func (s *Service) toDoc(p string) string {
	if !filepath.IsAbs(p) {
		return p
	}
	rel, ok := s.rootRel(p)
	if !ok {
		return p
	}
	if rel == "" {
		return "."
	}
	return rel
}

// fromDoc is the inverse of toDoc for this project.
func (s *Service) fromDoc(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(s.opts.Root, filepath.FromSlash(p))
}

// Import stores an export document in this project. With newIDs the
// session, its messages and parts get fresh IDs (in the same order);
// otherwise the IDs are kept and an existing session is refused with
// ErrExists. Snapshot objects are stored first and the session info last,
// so a session never appears before its messages.
func (s *Service) Import(ctx context.Context, doc Export, newIDs bool) (storage.Session, error) {
	if err := s.checkImport(doc); err != nil {
		return storage.Session{}, err
	}
	sess := doc.Info
	sess.Share = nil
	if newIDs {
		doc = s.renumber(doc)
		sess = doc.Info
	} else if _, err := s.store.Session(sess.ID); err == nil {
		return storage.Session{}, fmt.Errorf("session %s: %w (import with new IDs to keep both)", sess.ID, ErrExists)
	}
	if sess.ParentID != "" {
		if _, err := s.store.Session(sess.ParentID); err != nil {
			sess.ParentID = "" // the parent stayed behind: the session becomes a root
		}
	}
	if len(doc.Objects) > 0 {
		oc, ok := s.opts.Snapshots.(objectCopier)
		if !ok {
			s.log.Warn("Imported session without its snapshots: snapshots are disabled here", "session", sess.ID)
		} else if err := oc.AddObjects(ctx, doc.Objects); err != nil {
			return storage.Session{}, err
		} else if err := s.opts.Snapshots.Flush(); err != nil {
			return storage.Session{}, err
		}
	}
	for _, m := range doc.Messages {
		info := m.Info
		if info.Path != nil {
			p := *info.Path
			p.Cwd, p.Root = s.fromDoc(p.Cwd), s.fromDoc(p.Root)
			info.Path = &p
		}
		if err := s.store.PutMessage(info); err != nil {
			return storage.Session{}, err
		}
		for _, p := range m.Parts {
			if p.Type == storage.PartPatch {
				files := make([]string, len(p.Files))
				for i, f := range p.Files {
					files[i] = s.fromDoc(f)
				}
				p.Files = files
			}
			if err := s.store.PutPart(p); err != nil {
				return storage.Session{}, err
			}
		}
	}
	if len(doc.Todos) > 0 {
		if err := (todoStore{s.store}).Set(sess.ID, doc.Todos); err != nil {
			return storage.Session{}, err
		}
	}
	if err := s.store.PutSession(sess); err != nil {
		return storage.Session{}, err
	}
	s.bus.Publish(event.SessionUpdated{Info: sess})
	return sess, nil
}

// checkImport validates a document before anything is written: its format,
// every ID, that messages and parts belong where they say, and that
// relative paths stay inside the project.
func (s *Service) checkImport(doc Export) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: import: %s", ErrInvalid, fmt.Sprintf(format, a...))
	}
	if doc.Format != ExportFormat {
		return bad("format is %q, want %q", doc.Format, ExportFormat)
	}
	if !storage.ValidID(storage.PrefixSession, doc.Info.ID) {
		return bad("info.id %q is not a session ID", doc.Info.ID)
	}
	seen := map[string]bool{}
	for _, m := range doc.Messages {
		if !storage.ValidID(storage.PrefixMessage, m.Info.ID) || m.Info.SessionID != doc.Info.ID || seen[m.Info.ID] {
			return bad("message %q does not belong to session %s or repeats", m.Info.ID, doc.Info.ID)
		}
		seen[m.Info.ID] = true
		for _, p := range m.Parts {
			if !storage.ValidID(storage.PrefixPart, p.ID) || p.SessionID != doc.Info.ID || p.MessageID != m.Info.ID || seen[p.ID] {
				return bad("part %q does not belong to message %s or repeats", p.ID, m.Info.ID)
			}
			seen[p.ID] = true
			for _, f := range p.Files {
				if !filepath.IsAbs(f) && !filepath.IsLocal(filepath.FromSlash(f)) {
					return bad("patch file %q is outside the project", f)
				}
			}
		}
	}
	return nil
}

// renumber gives the document fresh IDs, keeping their order.
func (s *Service) renumber(doc Export) Export {
	ids := map[string]string{}
	sid := s.ids.Descending(storage.PrefixSession)
	msgs := make([]storage.WithParts, len(doc.Messages))
	for i, m := range doc.Messages {
		info := m.Info
		info.ID = s.ids.Ascending(storage.PrefixMessage)
		ids[m.Info.ID] = info.ID
		info.SessionID = sid
		parts := make([]storage.Part, len(m.Parts))
		for j, p := range m.Parts {
			old := p.ID
			p.ID = s.ids.Ascending(storage.PrefixPart)
			ids[old] = p.ID
			p.SessionID, p.MessageID = sid, info.ID
			parts[j] = p
		}
		msgs[i] = storage.WithParts{Info: info, Parts: parts}
	}
	info := doc.Info
	info.ID = sid
	if info.Revert != nil {
		rv := *info.Revert
		rv.MessageID = ids[rv.MessageID]
		if rv.PartID != "" {
			rv.PartID = ids[rv.PartID]
		}
		info.Revert = &rv
		if rv.MessageID == "" {
			info.Revert = nil
		}
	}
	doc.Info, doc.Messages = info, msgs
	return doc
}
