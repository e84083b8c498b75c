package childenv

import (
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
)

const canary = "sk-CANARY-childenv-0123456789"

func TestEnvironScrubsByNameAndValue(t *testing.T) {
	base := []string{
		"PATH=/usr/bin",
		"OPENCODE_SERVER_PASSWORD=pw-canary-1",
		"ANTHROPIC_API_KEY=" + canary,
		"MY_LLM_CREDS=from-config-env", // named by {env:MY_LLM_CREDS}
		"INNOCENT=prefix-" + canary,    // same value under a harmless name
		"AUTH_COPY=tok-from-auth-json", // an auth.json value
		"SHORT=abc",
		"HOME=/home/u",
	}
	s := New(base, []string{"MY_LLM_CREDS"}, func() []string { return []string{canary, "tok-from-auth-json", "abc"} })
	got := s.Environ()
	want := []string{"PATH=/usr/bin", "SHORT=abc", "HOME=/home/u"}
	if !slices.Equal(got, want) {
		t.Fatalf("Environ() = %q, want %q", got, want)
	}
}

// The hardened process's /proc/<pid>/environ holds no secret, as read by a
// child through $PPID, while the server itself still sees its environment.
func TestHole2HardenWipesProcEnviron(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc is Linux-only")
	}
	if os.Getenv("CHILDENV_HARDEN_CHILD") == "1" {
		if err := Harden(); err != nil {
			if _, err := os.Stdout.WriteString("HARDEN-ERROR " + err.Error() + "\n"); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := os.Stdout.WriteString("GETENV=" + os.Getenv("SECRET_FOR_TEST") + "\n"); err != nil {
			t.Fatal(err)
		}
		out, _ := exec.Command("/bin/sh", "-c", `tr '\0' '\n' < /proc/$PPID/environ; echo END`).CombinedOutput()
		if _, err := os.Stdout.Write(out); err != nil {
			t.Fatal(err)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHole2HardenWipesProcEnviron$", "-test.v")
	cmd.Env = append(os.Environ(), "CHILDENV_HARDEN_CHILD=1", "SECRET_FOR_TEST="+canary)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	s := string(out)
	if strings.Contains(s, "HARDEN-ERROR") {
		t.Fatalf("Harden failed:\n%s", s)
	}
	if !strings.Contains(s, "GETENV="+canary) {
		t.Errorf("the server lost its environment:\n%s", s)
	}
	if !strings.Contains(s, "END") {
		t.Fatalf("child did not read /proc/$PPID/environ:\n%s", s)
	}
	after := s[strings.Index(s, "GETENV=")+len("GETENV="+canary):]
	if strings.Contains(after, canary) || strings.Contains(after, "PATH=") {
		t.Errorf("/proc/$PPID/environ still shows the environment:\n%s", after)
	}
}
