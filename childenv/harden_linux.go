package childenv

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Harden copies the environment to the Go heap, overwrites the initial
// environment block (what /proc/self/environ shows) with zero bytes, and
// makes the process non-dumpable. Call it first thing in a long-running
// server, before any goroutine reads the environment concurrently.
func Harden() error {
	env := os.Environ()
	for i := range env {
		env[i] = strings.Clone(env[i])
	}
	// Rebuild the environment from the copies: the strings Go's runtime
	// made at start point into the block about to be wiped.
	os.Clearenv()
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			_ = os.Setenv(k, v)
		}
	}
	var errs []error
	if err := wipeEnvironBlock(); err != nil {
		errs = append(errs, fmt.Errorf("wipe /proc/self/environ: %w", err))
	}
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		errs = append(errs, fmt.Errorf("PR_SET_DUMPABLE: %w", err))
	}
	return errors.Join(errs...)
}

// wipeEnvironBlock zeroes [env_start, env_end) of this process's memory,
// the range the kernel shows as /proc/self/environ (proc(5): fields 50 and
// 51 of /proc/self/stat).
func wipeEnvironBlock() error {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return err
	}
	// The command name (field 2) may contain spaces: count after ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return errors.New("unexpected /proc/self/stat")
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3
	if len(f) < 49 {
		return errors.New("/proc/self/stat lacks env_start/env_end")
	}
	start, err1 := strconv.ParseUint(f[47], 10, 64)
	end, err2 := strconv.ParseUint(f[48], 10, 64)
	if err1 != nil || err2 != nil || end <= start || end-start > 16<<20 {
		return errors.New("bad env_start/env_end")
	}
	mem, err := os.OpenFile("/proc/self/mem", os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer mem.Close()
	_, err = mem.WriteAt(make([]byte, end-start), int64(start))
	return err
}
