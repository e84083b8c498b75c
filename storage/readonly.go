package storage

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"ocgo/atomicfile"
)

// ErrReadOnly is returned by writes to a store opened with OpenReadOnly.
var ErrReadOnly = errors.New("storage opened read-only")

// OpenReadOnly opens a project's data for reading without taking the data
// lock, so it works beside a running `ocgo serve` of the same project. This
// is safe because every write is an atomic rename: a reader sees each file
// either whole before or whole after a change, never half written. It
// creates nothing, quarantines nothing (a corrupt file is skipped and left
// to the owner) and refuses every write with ErrReadOnly. What it returns
// is a consistent view of each file, not of the whole store at one instant.
func OpenReadOnly(dir string, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("%s: %w", filepath.Base(dir), ErrNotFound)
	}
	s := &Store{
		dir: dir, root: filepath.Join(dir, "storage"), readOnly: true, fs: atomicfile.OS{},
		logger:   logger.With("component", "storage"),
		sessions: map[string]Session{}, convs: map[string]*conversation{},
	}
	if err := s.loadSessions(); err != nil {
		return nil, err
	}
	return s, nil
}

// ReadOnly reports whether the store was opened with OpenReadOnly.
func (s *Store) ReadOnly() bool { return s.readOnly }

// addrPrefix starts the lock file's line naming the holder's HTTP address.
const addrPrefix = "url "

// RecordAddress adds the holder's HTTP base URL (for example
// http://127.0.0.1:4096) to the lock file, so that a command that finds
// the data locked can ask the holder over HTTP instead (HolderAddress).
func (s *Store) RecordAddress(url string) error {
	if s.lock == nil {
		return ErrReadOnly
	}
	data, err := os.ReadFile(s.lock.Name())
	if err != nil {
		return err
	}
	first, _, _ := strings.Cut(string(data), "\n")
	content := []byte(first + "\n" + addrPrefix + url + "\n")
	if err := s.lock.Truncate(0); err != nil {
		return err
	}
	_, err = s.lock.WriteAt(content, 0)
	return err
}

// HolderAddress returns the HTTP base URL that the process holding dir's
// data lock recorded with RecordAddress, or "" when it recorded none.
func HolderAddress(dir string) string {
	for range 3 { // the holder rewrites the file once, at start: retry an empty read
		data, err := os.ReadFile(filepath.Join(dir, "ocgo.lock"))
		if err != nil {
			return ""
		}
		for line := range strings.SplitSeq(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, addrPrefix); ok {
				return strings.TrimSpace(v)
			}
		}
		if len(data) > 0 {
			return ""
		}
		time.Sleep(20 * time.Millisecond)
	}
	return ""
}
