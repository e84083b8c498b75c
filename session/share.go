package session

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strings"

	"ocgo/snapshot"
	"ocgo/storage"
)

// Local sharing: a shared session gets a URL served by ocgo itself,
// /share/<token>, where <token> is 256 random bits. The URL (and so the
// token) is kept in the session's share field, so it survives restarts and
// unsharing deletes it. Nothing is sent to any other host. ocgo writes no
// session/share/<id>.json: opencode would read it as an opencode.ai share
// and upload the session there.

// ErrShareDisabled is returned by Share when the config says share: "disabled".
//
// The capitalised text is opencode's own message, which clients show as is.
var ErrShareDisabled = errors.New("Sharing is disabled in configuration") //nolint:staticcheck // ST1005: opencode's exact text

// ShareMode is the config's share setting: "manual" (the default), "auto"
// (new root sessions are shared when created) or "disabled".
func (s *Service) ShareMode() string {
	if s.opts.Config != nil && s.opts.Config.Share != "" {
		return s.opts.Config.Share
	}
	return "manual"
}

// Share gives a session its local share URL under base (for example
// http://127.0.0.1:4096) and returns the session; a session already
// shared keeps its URL.
func (s *Service) Share(sessionID, base string) (storage.Session, error) {
	sess, err := s.Get(sessionID)
	if err != nil {
		return sess, err
	}
	if s.ShareMode() == "disabled" {
		return sess, ErrShareDisabled
	}
	if sess.Share != nil && shareToken(sess.Share.URL) != "" {
		return sess, nil
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return sess, err
	}
	url := strings.TrimRight(base, "/") + "/share/" + base64.RawURLEncoding.EncodeToString(b[:])
	return s.Update(sessionID, func(v *storage.Session) { v.Share = &storage.SessionShare{URL: url} })
}

// Unshare revokes a session's share URL; its page answers 404 from then on.
func (s *Service) Unshare(sessionID string) (storage.Session, error) {
	sess, err := s.Get(sessionID)
	if err != nil || sess.Share == nil {
		return sess, err
	}
	return s.Update(sessionID, func(v *storage.Session) { v.Share = nil })
}

// tokenLen is the length of a share token: 32 bytes, base64url, unpadded.
const tokenLen = 43

// shareToken extracts the token of a local share URL ("" if it is none).
func shareToken(url string) string {
	i := strings.LastIndex(url, "/share/")
	if i < 0 || len(url)-i-len("/share/") != tokenLen {
		return ""
	}
	return url[i+len("/share/"):]
}

// SharedSession finds the session shared under token. Tokens are compared
// in constant time; an unknown or malformed token is ErrNotFound.
func (s *Service) SharedSession(token string) (storage.Session, error) {
	if len(token) == tokenLen {
		for _, sess := range s.store.Sessions() {
			if sess.Share == nil {
				continue
			}
			if t := shareToken(sess.Share.URL); t != "" && subtle.ConstantTimeCompare([]byte(t), []byte(token)) == 1 {
				return sess, nil
			}
		}
	}
	return storage.Session{}, ErrNotFound
}

// SharedPatch is one patch of a shared session: its files with line counts
// and the unified diff.
type SharedPatch struct {
	Files []snapshot.FileDiff `json:"files"`
	Diff  string              `json:"diff"`
}

// pathDiffer is the part of snapshot.Snapshotter that writes unified diffs.
type pathDiffer interface {
	DiffPaths(ctx context.Context, from, to string, paths []string) (string, error)
}

// PatchDiff describes what one patch part changed; it is empty without
// snapshots or without a recorded tree after the change.
func (s *Service) PatchDiff(ctx context.Context, p storage.Part) (SharedPatch, error) {
	out := SharedPatch{Files: []snapshot.FileDiff{}}
	files := s.PatchFiles([]storage.Part{p})
	fd, ok1 := s.opts.Snapshots.(fileDiffer)
	pd, ok2 := s.opts.Snapshots.(pathDiffer)
	if !ok1 || !ok2 || p.Hash == "" || p.After == "" || len(files) == 0 {
		return out, nil
	}
	var err error
	if out.Files, err = fd.FileDiffs(ctx, p.Hash, p.After, files); err != nil {
		return out, err
	}
	for i := range out.Files { // the page shows the unified diff, not whole files
		out.Files[i].Before, out.Files[i].After = "", ""
	}
	out.Diff, err = pd.DiffPaths(ctx, p.Hash, p.After, files)
	return out, err
}
