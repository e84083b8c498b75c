package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sync"

	"ocgo/atomicfile"
	"ocgo/confine"
)

// Auth is one credential of auth.json, the union (discriminated on Type):
//
//	{type: "oauth", refresh, access, expires}
//	{type: "api", key}
//	{type: "wellknown", key, token}
//
// Its String method redacts every secret, so logging an Auth is safe.
type Auth struct {
	Type    string `json:"type"`
	Key     string `json:"key,omitempty"`
	Token   string `json:"token,omitempty"`
	Refresh string `json:"refresh,omitempty"`
	Access  string `json:"access,omitempty"`
	Expires int64  `json:"expires,omitempty"`
}

// Validate checks a against the union; the *AuthError names the field.
func (a Auth) Validate() error {
	missing := func(field string) error { return &AuthError{Field: field, Message: "required"} }
	switch a.Type {
	case "oauth":
		if a.Refresh == "" {
			return missing("refresh")
		}
		// access may be empty: opencode's Copilot login stores the GitHub
		// token as refresh and fetches the access token on first use.
		if a.Expires < 0 {
			return &AuthError{Field: "expires", Message: "must not be negative"}
		}
	case "api":
		if a.Key == "" {
			return missing("key")
		}
	case "wellknown":
		if a.Key == "" {
			return missing("key")
		}
		if a.Token == "" {
			return missing("token")
		}
	case "":
		return missing("type")
	default:
		return &AuthError{Field: "type", Message: `expected "oauth", "api" or "wellknown"`}
	}
	return nil
}

// MarshalJSON writes exactly the fields of a's variant (an oauth entry
// always carries "expires", even 0, as the union requires).
func (a Auth) MarshalJSON() ([]byte, error) {
	switch a.Type {
	case "oauth":
		return json.Marshal(struct {
			Type    string `json:"type"`
			Refresh string `json:"refresh"`
			Access  string `json:"access"`
			Expires int64  `json:"expires"`
		}{a.Type, a.Refresh, a.Access, a.Expires})
	case "api":
		return json.Marshal(struct {
			Type string `json:"type"`
			Key  string `json:"key"`
		}{a.Type, a.Key})
	case "wellknown":
		return json.Marshal(struct {
			Type  string `json:"type"`
			Key   string `json:"key"`
			Token string `json:"token"`
		}{a.Type, a.Key, a.Token})
	}
	type plain Auth
	return json.Marshal(plain(a))
}

// ParseAuth decodes and validates one Auth from JSON (a PUT /auth/:id body).
// Fields must have the right JSON types; the error names the first bad one.
func ParseAuth(b []byte) (Auth, error) {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		return Auth{}, &AuthError{Field: "", Message: "expected a JSON object"}
	}
	var a Auth
	str := func(field string, dst *string) error {
		v, ok := m[field]
		if !ok {
			return nil
		}
		s, ok := v.(string)
		if !ok {
			return &AuthError{Field: field, Message: "expected string, got " + typeName(v)}
		}
		*dst = s
		return nil
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"type", &a.Type}, {"key", &a.Key}, {"token", &a.Token}, {"refresh", &a.Refresh}, {"access", &a.Access}} {
		if err := str(f.name, f.dst); err != nil {
			return Auth{}, err
		}
	}
	if v, ok := m["expires"]; ok {
		f, isNum := v.(float64)
		if !isNum || math.IsNaN(f) || f > math.MaxInt64 || f < math.MinInt64 {
			return Auth{}, &AuthError{Field: "expires", Message: "expected number, got " + typeName(v)}
		}
		a.Expires = int64(f)
	} else if a.Type == "oauth" {
		return Auth{}, &AuthError{Field: "expires", Message: "required"}
	}
	if _, ok := m["access"]; !ok && a.Type == "oauth" {
		return Auth{}, &AuthError{Field: "access", Message: "required"}
	}
	if err := a.Validate(); err != nil {
		return Auth{}, err
	}
	return a, nil
}

// String describes a without any secret: the type and which fields are set.
func (a Auth) String() string {
	set := func(s string) string {
		if s == "" {
			return "unset"
		}
		return Redacted
	}
	switch a.Type {
	case "oauth":
		return fmt.Sprintf("Auth{type: oauth, refresh: %s, access: %s, expires: %d}", set(a.Refresh), set(a.Access), a.Expires)
	case "wellknown":
		return fmt.Sprintf("Auth{type: wellknown, key: %s, token: %s}", set(a.Key), set(a.Token))
	}
	return fmt.Sprintf("Auth{type: %q, key: %s}", a.Type, set(a.Key))
}

// GoString makes %#v as safe as %v.
func (a Auth) GoString() string { return a.String() }

// ValidateAuthID accepts provider ids usable as auth.json keys: 1–128
// characters of [A-Za-z0-9._-], not "." or "..".
func ValidateAuthID(id string) error {
	if id == "" || len(id) > 128 || id == "." || id == ".." {
		return fmt.Errorf("%w: must be 1 to 128 characters and not \".\" or \"..\"", ErrAuthID)
	}
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
		if !ok {
			return fmt.Errorf("%w: only letters, digits, '.', '_' and '-' are allowed", ErrAuthID)
		}
	}
	return nil
}

// AuthStore reads and writes auth.json (an object keyed by provider id,
// 2-space indented, as opencode writes it). Writes are serialised across
// goroutines and processes (flock on auth.json.lock), replace the file
// atomically (temp file in the same directory, fsync, rename, directory
// fsync), and the file is 0600 from its first byte. Reads re-read the file
// when its identity, size or mtime changed, so credentials written by a PUT
// or by another process take effect without a restart.
type AuthStore struct {
	path string
	mu   sync.Mutex // guards the cache and serialises writers in-process

	cacheInfo os.FileInfo
	cache     map[string]json.RawMessage
}

// NewAuthStore returns a store for path (normally <Data>/auth.json). The
// file need not exist.
func NewAuthStore(path string) *AuthStore { return &AuthStore{path: path} }

// readLocked returns the raw entries, from cache when the file is unchanged.
// Entries are kept raw so a write preserves entries it does not touch
// byte-for-byte, even ones this version cannot decode.
func (s *AuthStore) readLocked() (map[string]json.RawMessage, error) {
	st, err := os.Stat(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		s.cacheInfo, s.cache = nil, nil
		return map[string]json.RawMessage{}, nil
	}
	if err != nil {
		return nil, fileErr("stat auth file", err)
	}
	if s.cacheInfo != nil && os.SameFile(s.cacheInfo, st) && st.Size() == s.cacheInfo.Size() && st.ModTime().Equal(s.cacheInfo.ModTime()) {
		return s.cache, nil
	}
	b, err := confine.ReadRegular(s.path, maxConfigFile)
	if err != nil {
		return nil, fileErr("read auth file", err)
	}
	m := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("%w: not a JSON object: %v", ErrAuthFile, err)
		}
	}
	s.cacheInfo, s.cache = st, m
	return m, nil
}

// Get returns the credential stored for id. An entry that does not decode as
// a valid Auth is reported as absent.
func (s *AuthStore) Get(id string) (Auth, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.readLocked()
	if err != nil {
		return Auth{}, false, err
	}
	raw, ok := m[id]
	if !ok {
		return Auth{}, false, nil
	}
	a, err := ParseAuth(raw)
	if err != nil {
		return Auth{}, false, nil
	}
	return a, true, nil
}

// All returns every valid credential; invalid entries are skipped.
func (s *AuthStore) All() (map[string]Auth, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.readLocked()
	if err != nil {
		return nil, err
	}
	out := make(map[string]Auth, len(m))
	for id, raw := range m {
		if a, err := ParseAuth(raw); err == nil {
			out[id] = a
		}
	}
	return out, nil
}

// Set validates id and a, then stores a under id with a read-modify-write
// of auth.json under the cross-process lock.
func (s *AuthStore) Set(id string, a Auth) error {
	_, err := s.Update(id, func(Auth, bool) (Auth, bool, error) { return a, true, nil })
	return err
}

// Update reads the entry for id and calls fn with it under the
// cross-process lock; when fn asks to store a new value it is validated and
// written back (0600, atomically) before the lock is released. An OAuth
// refresh runs inside fn, so two processes never spend one refresh token
// twice: the second sees the first one's new tokens. Update returns the
// entry as it stands afterwards.
func (s *AuthStore) Update(id string, fn func(cur Auth, ok bool) (next Auth, store bool, err error)) (Auth, error) {
	if err := ValidateAuthID(id); err != nil {
		return Auth{}, err
	}
	dir := filepath.Dir(s.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Auth{}, fileErr("create auth dir", err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	unlock, err := lockFile(s.path + ".lock")
	if err != nil {
		return Auth{}, fileErr("lock auth file", err)
	}
	defer unlock()

	// Another process may have written since our cache was filled; the
	// stat in readLocked sees that (the rename gives a new inode).
	m, err := s.readLocked()
	if err != nil {
		return Auth{}, err
	}
	cur, ok := Auth{}, false
	if raw, found := m[id]; found {
		if a, err := ParseAuth(raw); err == nil {
			cur, ok = a, true
		}
	}
	a, store, err := fn(cur, ok)
	if err != nil || !store {
		return cur, err
	}
	if err := a.Validate(); err != nil {
		return cur, err
	}
	enc, err := json.Marshal(a)
	if err != nil {
		return cur, fmt.Errorf("%w: encode: %v", ErrAuthFile, err)
	}
	next := make(map[string]json.RawMessage, len(m)+1)
	for k, v := range m {
		next[k] = v
	}
	next[id] = enc
	out, err := json.MarshalIndent(next, "", "  ")
	if err != nil {
		return cur, fmt.Errorf("%w: encode: %v", ErrAuthFile, err)
	}
	if err := atomicfile.WriteFile(s.path, out, 0o600); err != nil {
		return cur, fileErr("write", err)
	}
	if st, err := os.Stat(s.path); err == nil {
		s.cacheInfo, s.cache = st, next
	} else {
		s.cacheInfo, s.cache = nil, nil
	}
	return a, nil
}

// fileErr wraps an I/O failure on auth.json in ErrAuthFile, without the
// absolute path.
func fileErr(op string, err error) error {
	return fmt.Errorf("%w: %s: %s", ErrAuthFile, op, cleanErr(err))
}

// SweepTemps removes temp files that writes of auth.json interrupted by a
// crash left behind. It holds the cross-process lock every writer holds, so
// no other process's write in progress is touched.
func (s *AuthStore) SweepTemps() int {
	if _, err := os.Stat(filepath.Dir(s.path)); err != nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	unlock, err := lockFile(s.path + ".lock")
	if err != nil {
		return 0
	}
	defer unlock()
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(s.path), "."+filepath.Base(s.path)+".*.tmp"))
	n := 0
	for _, m := range matches {
		if os.Remove(m) == nil {
			n++
		}
	}
	return n
}
