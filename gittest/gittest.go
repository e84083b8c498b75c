// Package gittest gives tests that drive the git command line one isolated
// git environment, so that what they compare ocgo with (git's own answers)
// never depends on the machine's git configuration. It is imported by test
// files only.
package gittest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Env requires git and points it at an empty home: no system or global
// config (HOME, XDG_CONFIG_HOME, GIT_CONFIG_NOSYSTEM; GIT_CONFIG_GLOBAL and
// GIT_CONFIG_SYSTEM unset) and a fixed author and committer, restored after
// the test. Without git the test is skipped, or fails when CI=true (.ci/run
// installs git, so a skip there would hide a missing step). It returns the
// home folder.
func Env(t testing.TB) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI: git not installed (.ci/run must install it)")
		}
		t.Skip("git not installed")
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	for _, k := range []string{"GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM"} {
		t.Setenv(k, "") // registers the restore of the old value
		if err := os.Unsetenv(k); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range map[string]string{"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"} {
		t.Setenv(k, v)
	}
	return home
}
