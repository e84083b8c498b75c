package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"ocgo/app"
)

// TestCLIBesideRealServer runs the real binary: `ocgo serve` with a
// password holds the project data; `ocgo sessions` and `ocgo show` read
// beside it, and `ocgo import` finds the server through the lock file and
// sends the import over HTTP with the password.
func TestCLIBesideRealServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir, data, home := t.TempDir(), t.TempDir(), t.TempDir()
	const password = "s3cret-for-the-cli"
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "SHELL=/bin/sh", "OPENCODE_SERVER_PASSWORD=" + password}
	p := startOcgo(t, dir, data, env)
	defer p.stop(false)
	code, body := p.do(t, "POST", "/session", `{"title":"made over HTTP"}`, password)
	if code != 200 {
		t.Fatalf("create: %d %s", code, body)
	}
	var s struct{ ID string }
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatal(err)
	}
	lock, _ := os.ReadFile(filepath.Join(data, "project", app.FindProject(dir).Slug, "ocgo.lock"))
	if !strings.Contains(string(lock), "url "+p.URL) {
		t.Fatalf("the lock file does not name the server's address:\n%s", lock)
	}

	ocgo := func(env []string, args ...string) (string, error) {
		cmd := exec.Command(ocgoBinary(t), append(args, "--dir", dir, "--data-dir", data)...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := ocgo(env, "sessions"); err != nil || !strings.Contains(out, "made over HTTP") {
		t.Fatalf("sessions beside the server: %v\n%s", err, out)
	}
	if out, err := ocgo(env, "show", s.ID); err != nil || !strings.Contains(out, "made over HTTP  "+s.ID) {
		t.Fatalf("show beside the server: %v\n%s", err, out)
	}
	file := filepath.Join(t.TempDir(), "s.json")
	if out, err := ocgo(env, "export", s.ID, "-o", file); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	// Without the password the server refuses, and the CLI says so.
	noPass := env[:len(env)-1]
	if out, err := ocgo(noPass, "import", file, "--new-ids"); err == nil || !strings.Contains(out, "401") {
		t.Errorf("import without the password: %v\n%s", err, out)
	}
	out, err := ocgo(env, "import", file, "--new-ids")
	if err != nil || !strings.Contains(out, "asking it at "+p.URL) {
		t.Fatalf("import through the server: %v\n%s", err, out)
	}
	code, body = p.do(t, "GET", "/session", "", password)
	if code != 200 || strings.Count(body, "made over HTTP") != 2 {
		t.Errorf("the server does not list the imported copy: %s", body)
	}
}
