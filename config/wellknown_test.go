package config

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRemoteConfigMergesAfterFilesAndRefusesFileRefs(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "opencode.json"), []byte(`{"model":"a/b","username":"local"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	env := WellKnownEnv(func(string) string { return "" }, []WellKnown{{URL: "https://org.example", EnvName: "ORG_TOKEN", Token: "tok-abcdef"}})
	c, err := Load(Options{Paths: Paths{Cwd: dir, Root: dir}, Env: env,
		Remote: []Remote{{Source: "https://org.example/.well-known/opencode", Config: []byte(`{"model":"org/x","provider":{"org":{"options":{"apiKey":"{env:ORG_TOKEN}"}}}}`)}}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Model != "org/x" || c.Username != "local" {
		t.Errorf("model %q username %q", c.Model, c.Username)
	}
	if _, ok := c.Provider["org"]; !ok {
		t.Errorf("remote provider missing: %v", c.Provider)
	}
	secret := filepath.Join(dir, "secret")
	_ = os.WriteFile(secret, []byte("s3cret"), 0o600)
	_, err = Load(Options{Paths: Paths{Cwd: dir, Root: dir}, Remote: []Remote{{Source: "https://evil.example", Config: []byte(`{"username":"{file:` + secret + `}"}`)}}})
	var ce *Error
	if !errors.As(err, &ce) || !strings.Contains(ce.Message, "{file:}") {
		t.Errorf("remote {file:} accepted: %v", err)
	}
}

func TestFetchWellKnown(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"config":{"username":"org"}}`))
	}))
	defer ok.Close()
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", 500) }))
	defer bad.Close()
	docs, errs := FetchWellKnown(context.Background(), nil, []WellKnown{{URL: ok.URL + "/"}, {URL: bad.URL}, {URL: "file:///etc"}})
	if len(docs) != 1 || string(docs[0].Config) != `{"username":"org"}` || docs[0].Source != ok.URL+"/.well-known/opencode" {
		t.Errorf("docs: %+v", docs)
	}
	if len(errs) != 2 {
		t.Errorf("errors: %v", errs)
	}
}
