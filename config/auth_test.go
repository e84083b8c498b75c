package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestAuthValidate(t *testing.T) {
	cases := []struct {
		name  string
		auth  Auth
		field string // "" = valid
	}{
		{"api", Auth{Type: "api", Key: "k"}, ""},
		{"api without key", Auth{Type: "api"}, "key"},
		{"oauth", Auth{Type: "oauth", Refresh: "r", Access: "a", Expires: 1}, ""},
		{"oauth expires zero", Auth{Type: "oauth", Refresh: "r", Access: "a"}, ""},
		{"oauth without refresh", Auth{Type: "oauth", Access: "a", Expires: 1}, "refresh"},
		{"oauth negative expiry", Auth{Type: "oauth", Refresh: "r", Access: "a", Expires: -1}, "expires"},
		{"wellknown", Auth{Type: "wellknown", Key: "https://x", Token: "t"}, ""},
		{"wellknown without token", Auth{Type: "wellknown", Key: "https://x"}, "token"},
		{"no type", Auth{Key: "k"}, "type"},
		{"unknown type", Auth{Type: "basic", Key: "k"}, "type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.auth.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			var ae *AuthError
			if !errors.As(err, &ae) || ae.Field != tc.field || !errors.Is(err, ErrAuthInvalid) {
				t.Fatalf("err = %v, want field %q", err, tc.field)
			}
		})
	}
}

func TestParseAuth(t *testing.T) {
	cases := []struct {
		body  string
		field string // "" = valid
		want  Auth
	}{
		{`{"type":"api","key":"sk-1"}`, "", Auth{Type: "api", Key: "sk-1"}},
		{`{"type":"oauth","refresh":"r","access":"a","expires":1767225600000}`, "", Auth{Type: "oauth", Refresh: "r", Access: "a", Expires: 1767225600000}},
		{`{"type":"oauth","refresh":"r","access":"a"}`, "expires", Auth{}},
		{`{"type":"oauth","refresh":"r","access":"a","expires":"soon"}`, "expires", Auth{}},
		{`{"type":"api","key":42}`, "key", Auth{}},
		{`{"type":"bogus","key":"k"}`, "type", Auth{}}, // recorded auth_put_bad: discriminator error on "type"
		{`{"key":"k"}`, "type", Auth{}},
		{`[]`, "", Auth{}},
		{`null`, "", Auth{}},
	}
	for _, tc := range cases {
		got, err := ParseAuth([]byte(tc.body))
		if tc.want.Type != "" {
			if err != nil || got != tc.want {
				t.Errorf("%s: got %+v, %v", tc.body, got, err)
			}
			continue
		}
		var ae *AuthError
		if !errors.As(err, &ae) || ae.Field != tc.field {
			t.Errorf("%s: err = %v, want field %q", tc.body, err, tc.field)
		}
	}
}

func TestValidateAuthID(t *testing.T) {
	for _, id := range []string{"anthropic", "github-copilot", "amazon-bedrock", "my.Provider_2"} {
		if err := ValidateAuthID(id); err != nil {
			t.Errorf("%q rejected: %v", id, err)
		}
	}
	for _, id := range []string{"", ".", "..", "../x", "a/b", `a\b`, "a b", "a\x00", strings.Repeat("a", 129), "ключ"} {
		if err := ValidateAuthID(id); !errors.Is(err, ErrAuthID) {
			t.Errorf("%q accepted", id)
		}
	}
}

func TestAuthStringNeverLeaks(t *testing.T) {
	const canary = "sk-CANARY-secret"
	for _, a := range []Auth{
		{Type: "api", Key: canary},
		{Type: "oauth", Refresh: canary, Access: canary, Expires: 5},
		{Type: "wellknown", Key: canary, Token: canary},
		{Type: "weird", Key: canary, Token: canary, Refresh: canary, Access: canary},
	} {
		for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
			if s := fmt.Sprintf(format, a); strings.Contains(s, canary) {
				t.Errorf("%s of %s auth leaks: %s", format, a.Type, s)
			}
		}
		if s := fmt.Sprint([]Auth{a}, map[string]Auth{"x": a}); strings.Contains(s, canary) {
			t.Errorf("nested print leaks: %s", s)
		}
	}
}

func TestAuthStoreRoundTripAndMode(t *testing.T) {
	defer setUmask(0)() // a permissive umask must not widen the file mode

	dir := filepath.Join(t.TempDir(), "data", "opencode")
	path := filepath.Join(dir, "auth.json")
	s := NewAuthStore(path)

	if _, ok, err := s.Get("anthropic"); ok || err != nil {
		t.Fatalf("empty store: ok=%v err=%v", ok, err)
	}
	want := Auth{Type: "api", Key: "sk-1"}
	if err := s.Set("anthropic", want); err != nil {
		t.Fatal(err)
	}
	oauth := Auth{Type: "oauth", Refresh: "r", Access: "a"}
	if err := s.Set("copilot", oauth); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("auth.json mode = %v, want 0600", st.Mode().Perm())
	}
	if dst, _ := os.Stat(dir); dst.Mode().Perm() != 0o700 {
		t.Errorf("data dir mode = %v, want 0700", dst.Mode().Perm())
	}
	if got, ok, err := s.Get("anthropic"); !ok || err != nil || got != want {
		t.Errorf("Get = %+v %v %v", got, ok, err)
	}

	// The file is what opencode writes: 2-space indent, oauth with expires.
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), "\n  \"anthropic\": {") || !strings.Contains(string(b), `"expires": 0`) {
		t.Errorf("file format:\n%s", b)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != "auth.json" && e.Name() != "auth.json.lock" {
			t.Errorf("leftover file %s", e.Name())
		}
	}

	// Invalid input never touches the file.
	if err := s.Set("../etc", want); !errors.Is(err, ErrAuthID) {
		t.Errorf("bad id: %v", err)
	}
	if err := s.Set("x", Auth{Type: "api"}); !errors.Is(err, ErrAuthInvalid) {
		t.Errorf("bad auth: %v", err)
	}
	if b2, _ := os.ReadFile(path); string(b2) != string(b) {
		t.Error("rejected Set changed the file")
	}
}

func TestAuthStoreSeesExternalWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.json")
	s := NewAuthStore(path)
	if err := s.Set("a", Auth{Type: "api", Key: "one"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Get("a"); err != nil { // fill the cache
		t.Fatal(err)
	}
	// Another process (here: another store) replaces the file.
	other := NewAuthStore(path)
	if err := other.Set("a", Auth{Type: "api", Key: "two"}); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.Get("a"); got.Key != "two" {
		t.Errorf("stale read after external write: %q", got.Key)
	}
}

func TestAuthStorePreservesForeignEntries(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.json")
	foreign := `{"future": {"type": "device", "code": "xyz"}, "ok": {"type": "api", "key": "k"}}`
	if err := os.WriteFile(path, []byte(foreign), 0o600); err != nil {
		t.Fatal(err)
	}
	s := NewAuthStore(path)
	all, err := s.All()
	if err != nil || len(all) != 1 || all["ok"].Key != "k" {
		t.Fatalf("All = %v, %v (undecodable entries are skipped)", all, err)
	}
	if err := s.Set("new", Auth{Type: "api", Key: "n"}); err != nil {
		t.Fatal(err)
	}
	var m map[string]map[string]any
	b, _ := os.ReadFile(path)
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m["future"]["code"] != "xyz" || m["ok"]["key"] != "k" || m["new"]["key"] != "n" {
		t.Errorf("entries lost: %s", b)
	}

	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Set("x", Auth{Type: "api", Key: "k"}); !errors.Is(err, ErrAuthFile) {
		t.Error("Set over a corrupt file must fail rather than drop every credential")
	}
}

func TestAuthStoreConcurrentSetLosesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.json")
	// Two stores on one file behave like two processes: only the flock
	// serialises them; goroutines within each share its mutex.
	stores := []*AuthStore{NewAuthStore(path), NewAuthStore(path)}
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("provider-%d", i)
			if err := stores[i%2].Set(id, Auth{Type: "api", Key: "key-" + id}); err != nil {
				errs <- err
			}
			if _, _, err := stores[(i+1)%2].Get(id); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	all, err := NewAuthStore(path).All()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != n {
		t.Fatalf("got %d entries, want %d", len(all), n)
	}
	for id, a := range all {
		if a.Key != "key-"+id {
			t.Errorf("%s = %q", id, a.Key)
		}
	}
}

func BenchmarkAuthGetCached(b *testing.B) {
	s := NewAuthStore(filepath.Join(b.TempDir(), "auth.json"))
	for i := range 20 {
		if err := s.Set(fmt.Sprintf("p%d", i), Auth{Type: "api", Key: "k"}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, err := s.Get("p7"); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkAuthSet(b *testing.B) {
	s := NewAuthStore(filepath.Join(b.TempDir(), "auth.json"))
	for b.Loop() {
		if err := s.Set("p", Auth{Type: "api", Key: "k"}); err != nil {
			b.Fatal(err)
		}
	}
}
