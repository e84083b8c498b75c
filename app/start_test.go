package app

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// smallProject is a git project of n small files.
func smallProject(tb testing.TB, n int) string {
	tb.Helper()
	dir := tb.TempDir()
	for i := range n {
		if err := os.WriteFile(filepath.Join(dir, "f"+string(rune('a'+i%26))+string(rune('a'+i/26%26))+".go"), []byte("package p\n"), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			tb.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	return dir
}

// BenchmarkStart is start-up as the serve command does it, in process: New
// on a 100-file git project, then the first GET /app, then Close;
// ms-to-app is the time to the first answer.
func BenchmarkStart(b *testing.B) {
	dir, home := smallProject(b, 100), b.TempDir()
	env := map[string]string{"HOME": home, "OPENCODE_DISABLE_MODELS_FETCH": "1"}
	data := b.TempDir()
	req := httptest.NewRequest(http.MethodGet, "/app", nil)
	req.Host = "127.0.0.1:4096"
	b.ReportAllocs()
	var ready time.Duration
	for b.Loop() {
		t0 := time.Now()
		a, err := New(Config{Dir: dir, DataRoot: data, Env: func(k string) string { return env[k] }})
		if err != nil {
			b.Fatal(err)
		}
		rec := httptest.NewRecorder()
		a.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("GET /app: %d %s", rec.Code, rec.Body)
		}
		ready += time.Since(t0)
		a.Shutdown()
		if err := a.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(ready.Microseconds())/float64(b.N)/1000, "ms-to-app/op")
}

// TestHomeDirIgnoresProcessHOME: the home directory comes from the injected
// environment, else the user database, never from the process's $HOME.
func TestHomeDirIgnoresProcessHOME(t *testing.T) {
	proc := t.TempDir()
	t.Setenv("HOME", proc)
	if h := homeDir(func(string) string { return "" }); h == proc {
		t.Errorf("homeDir without HOME in the injected environment = the process's $HOME %q", h)
	}
	inj := t.TempDir()
	if h := homeDir(func(k string) string {
		if k == "HOME" {
			return inj
		}
		return ""
	}); h != inj {
		t.Errorf("homeDir = %q, want the injected %q", h, inj)
	}
}
