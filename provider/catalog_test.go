package provider

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// acmeCatalog is a models.dev api.json with one provider, as opencode
// caches it.
const acmeCatalog = `{"acme":{"id":"acme","name":"Acme AI","env":["ACME_API_KEY"],"npm":"@ai-sdk/openai-compatible",
 "api":"https://api.acme.invalid/v1","models":{"acme-coder-9":{"id":"acme-coder-9","name":"Acme Coder 9",
 "attachment":false,"reasoning":true,"temperature":true,"tool_call":true,"release_date":"2026-11-01",
 "cost":{"input":1,"output":2},"limit":{"context":500000,"output":64000}}}}}`

func TestCatalogReadsOpencodeCacheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "opencode", "models.json")
	reg, _ := NewRegistry(Source{Catalog: NewCatalog(CatalogOptions{CacheFile: path}),
		Env: envMap(map[string]string{"ACME_API_KEY": "k"})}, nil)
	// Nothing is read at construction: a cache written afterwards is used.
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(acmeCatalog), 0o644); err != nil {
		t.Fatal(err)
	}
	mod := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	if err := os.Chtimes(path, mod, mod); err != nil {
		t.Fatal(err)
	}
	if got := ids(reg.List()); len(got) != 1 || got[0] != "acme" {
		t.Fatalf("List = %v", got)
	}
	r, err := reg.Model(context.Background(), "acme", "acme-coder-9")
	if err != nil || r.Model.Limit.Context != 500000 {
		t.Fatalf("model: %v %+v", err, r)
	}
	if info := reg.CatalogInfo(); info.Source != "cache" || info.Date != "2026-11-20" || info.Path != path {
		t.Errorf("info: %+v", info)
	}
}

func TestCatalogFallsBackFromABrokenCache(t *testing.T) {
	path := filepath.Join(t.TempDir(), "models.json")
	if err := os.WriteFile(path, []byte(`{"acme": {"models": [1,2`), 0o644); err != nil {
		t.Fatal(err)
	}
	db, info := NewCatalog(CatalogOptions{CacheFile: path}).Load()
	if info.Source != "embedded" || db["anthropic"].Models == nil {
		t.Errorf("info %+v", info)
	}
}

func TestCatalogRefresh(t *testing.T) {
	var body string
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if body == "hang" {
			select {
			case <-hang:
			case <-r.Context().Done():
			}
			return
		}
		_, _ = w.Write([]byte(body))
	}))
	defer srv.Close()
	defer close(hang)
	path := filepath.Join(t.TempDir(), "cache", "opencode", "models.json")
	c := NewCatalog(CatalogOptions{CacheFile: path, URL: srv.URL + "/api.json", Timeout: 300 * time.Millisecond})

	body = "<html>maintenance</html>"
	if err := c.Refresh(context.Background()); err == nil {
		t.Error("a non-catalog answer was accepted")
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("cache written from a bad answer")
	}
	body = acmeCatalog
	if err := c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if db, info := NewCatalog(CatalogOptions{CacheFile: path}).Load(); info.Source != "cache" || db["acme"].Name != "Acme AI" {
		t.Errorf("refreshed cache not used: %+v", info)
	}
	body = "hang"
	start := time.Now()
	if err := c.Refresh(context.Background()); err == nil || time.Since(start) > 2*time.Second {
		t.Errorf("hung refresh: %v after %v", err, time.Since(start))
	}
	// Offline: nothing listens on the port.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	off := NewCatalog(CatalogOptions{CacheFile: path, URL: "http://" + addr + "/api.json"})
	start = time.Now()
	wait := off.RefreshInBackground(context.Background(), false)
	wait()
	if time.Since(start) > 2*time.Second {
		t.Errorf("offline refresh took %v", time.Since(start))
	}
	if db, _ := NewCatalog(CatalogOptions{CacheFile: path}).Load(); db["acme"].Name != "Acme AI" {
		t.Error("a failed refresh damaged the cache")
	}
}
