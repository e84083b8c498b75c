//go:build !(linux && (amd64 || arm64))

package trace

import (
	"errors"
	"os/exec"
)

// Supported reports whether this build can trace commands at all.
const Supported = false

func (t *Tracer) start(cmd *exec.Cmd, r *Run) error {
	t.unavailable(errors.New("not supported on this system"))
	r.widen("tracing is not supported on this system")
	return cmd.Start()
}
