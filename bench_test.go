package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// seedSessions writes n session files for project proj under dataRoot the
// way opencode 0.5.x lays them out, bypassing the server (which would fsync
// each one), so the server under test loads them as existing data.
func seedSessions(tb testing.TB, dataRoot, proj string, n int) {
	tb.Helper()
	var segs []string
	for _, s := range strings.Split(filepath.ToSlash(proj), "/") {
		if s != "" {
			segs = append(segs, s)
		}
	}
	slug := regexp.MustCompile(`[^A-Za-z0-9_]`).ReplaceAllString(strings.Join(segs, "-"), "-")
	dir := filepath.Join(dataRoot, "project", slug, "storage", "session", "info")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	base := time.Now().UnixMilli() - int64(n)*1000
	for i := 0; i < n; i++ {
		ms := base + int64(i)*1000
		// Descending IDs as opencode makes them: ^(ms*0x1000+1), low 48 bits.
		id := fmt.Sprintf("ses_%012x%014d", (^(uint64(ms)*0x1000 + 1))&(1<<48-1), i)
		body, err := json.MarshalIndent(map[string]any{
			"id": id, "version": apiVersion, "title": fmt.Sprintf("seeded session %d", i),
			"time": map[string]int64{"created": ms, "updated": ms},
		}, "", "  ")
		if err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, id+".json"), body, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// discard is a ResponseWriter that keeps only the status and byte count, so
// the benchmark measures the handler rather than a recorder's buffer.
type discard struct {
	h      http.Header
	status int
	n      int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) WriteHeader(code int)        { d.status = code }
func (d *discard) Write(p []byte) (int, error) { d.n += len(p); return len(p), nil }

// BenchmarkSessionList measures the in-process handler for GET /session
// with 205 and 10,000 stored sessions (goal: 10,000 in ≤ 10 ms).
func BenchmarkSessionList(b *testing.B) {
	for _, n := range []int{205, 10000} {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) { benchList(b, n) })
	}
}

// BenchmarkSessionList10k is the 10,000-session case on its own.
func BenchmarkSessionList10k(b *testing.B) { benchList(b, 10000) }

func benchList(b *testing.B, n int) {
	proj, dataRoot := b.TempDir(), b.TempDir()
	b.Setenv("HOME", b.TempDir())
	seedSessions(b, dataRoot, proj, n)
	a, err := newApp(appConfig{Dir: proj, DataRoot: dataRoot, Env: func(string) string { return "" }})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Shutdown(); _ = a.Close() })
	h := a.Handler()
	req := httptest.NewRequest(http.MethodGet, "/session", nil)
	req.Host = "127.0.0.1:4096"

	// Check once that the list is complete before timing it.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var list []struct {
		ID string `json:"id"`
	}
	if rec.Code != http.StatusOK {
		b.Fatalf("GET /session: %d %s", rec.Code, rec.Body.String())
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || len(list) != n {
		b.Fatalf("GET /session listed %d sessions (err %v), want %d", len(list), err, n)
	}

	b.ReportAllocs()
	b.ResetTimer()
	var bytes int
	for b.Loop() {
		w := &discard{h: http.Header{}}
		h.ServeHTTP(w, req)
		if w.status != 0 && w.status != http.StatusOK {
			b.Fatalf("status %d", w.status)
		}
		bytes = w.n
	}
	b.SetBytes(int64(bytes))
}
