package session

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"ocgo/storage"
)

// shellOutputCap bounds the output kept from one /shell command; the tail
// is dropped with a note so a runaway command cannot fill memory or disk.
const shellOutputCap = 1 << 20

// Shell runs command with $SHELL -c in the project directory as the user
// would, recording a synthetic user message and an assistant message with
// one bash tool part whose metadata.output grows as the command writes.
// The exit code is recorded in metadata.exit. Abort kills the process group.
// What the command's process tree changed is recorded as a patch part.
func (s *Service) Shell(ctx context.Context, id, agent, command string) (storage.WithParts, error) {
	if _, err := s.Get(id); err != nil {
		return storage.WithParts{}, err
	}
	if agent == "" {
		agent = "build"
	}
	ctx, end, err := s.begin(ctx, id)
	if err != nil {
		return storage.WithParts{}, err
	}
	defer end()
	s.touch(id)

	user := storage.Message{ID: s.ids.Ascending(storage.PrefixMessage), SessionID: id, Role: storage.RoleUser,
		Time: storage.MessageTime{Created: s.ms()}}
	if err := s.putMessage(user); err != nil {
		return storage.WithParts{}, err
	}
	if err := s.putPart(storage.Part{ID: s.ids.Ascending(storage.PrefixPart), SessionID: id, MessageID: user.ID,
		Type: storage.PartText, Text: "The following tool was executed by the user", Synthetic: true}); err != nil {
		return storage.WithParts{}, err
	}
	msg := s.newAssistant(id, agent, "", "")
	if err := s.putMessage(msg); err != nil {
		return storage.WithParts{}, err
	}
	input, _ := json.Marshal(map[string]string{"command": command})
	start := s.ms()
	part := storage.Part{ID: s.ids.Ascending(storage.PrefixPart), SessionID: id, MessageID: msg.ID,
		Type: storage.PartTool, Tool: "bash", CallID: s.ids.Ascending("call"),
		State: &storage.ToolState{Status: storage.ToolRunning, Input: input, Time: &storage.ToolTime{Start: start},
			Metadata: map[string]any{"output": "", "description": ""}}}
	if err := s.putPart(part); err != nil {
		return storage.WithParts{}, err
	}

	out := &liveOutput{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // stream output into the part, at most every 100 ms
		defer wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		last := 0
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if text, n := out.snapshot(); n != last {
					last = n
					p := part
					st := *p.State
					st.Metadata = map[string]any{"output": text, "description": ""}
					p.State = &st
					_ = s.putPart(p)
				}
			}
		}
	}()

	// Snapshot around the command, as for the bash tool, and record what
	// its process tree changed as a patch part, so revert can undo it.
	var before string
	var large map[string]bool
	var saver *largeFiles
	hook := func(string) {}
	if s.opts.Snapshots != nil {
		before, large = s.beforeCommand(ctx)
		saver = s.newLargeFiles(ctx, large)
		hook = func(abs string) {
			if rel, ok := s.rootRel(abs); ok {
				saver.before(rel)
			}
		}
	}
	// Audit trail (E3): which session ran a command, its length and hash,
	// never the command text (it may hold a secret).
	sum := sha256.Sum256([]byte(command))
	s.log.Info("Shell command", "session", id, "bytes", len(command), "sha256", hex.EncodeToString(sum[:8]))
	cmd := exec.Command(s.opts.Shell, "-c", command)
	cmd.Dir = s.opts.Cwd
	cmd.Env = append(s.opts.Environ(), "TERM=dumb")
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	exit := 0
	run, runErr := s.opts.Tracer.StartHook(cmd, hook)
	if runErr == nil {
		waitDone := make(chan error, 1)
		go func() { waitDone <- cmd.Wait() }()
		select {
		case runErr = <-waitDone:
		case <-ctx.Done():
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			runErr = <-waitDone
		}
	}
	close(stop)
	wg.Wait()
	var ee *exec.ExitError
	switch {
	case errors.As(runErr, &ee):
		exit = ee.ExitCode()
	case runErr != nil:
		exit = -1
		_, _ = out.Write([]byte(runErr.Error() + "\n"))
	}
	s.log.Info("Shell command finished", "session", id, "exit", exit, "aborted", ctx.Err() != nil, "ms", s.ms()-start)
	text, _ := out.snapshot()
	meta := map[string]any{"output": text, "description": "", "exit": exit}
	st := storage.ToolState{Status: storage.ToolCompleted, Input: input, Output: text, Title: command,
		Metadata: meta, Time: &storage.ToolTime{Start: start, End: s.ms()}}
	if ctx.Err() != nil {
		st = storage.ToolState{Status: storage.ToolError, Input: input, Error: "Command aborted", Metadata: meta,
			Time: &storage.ToolTime{Start: start, End: s.ms()}}
		msg.Error = &storage.MessageError{Name: "MessageAbortedError", Data: map[string]any{"message": "aborted"}}
	}
	part.State = &st
	if err := s.putPart(part); err != nil {
		return storage.WithParts{}, err
	}
	parts := []storage.Part{part}
	if before != "" {
		s.opts.Snapshots.MarkAll()
		candidates, covers, dirs := s.commandFiles(run.Result)
		rs := &runState{s: s, ctx: context.WithoutCancel(ctx), in: loopInput{sessionID: id}, msg: msg, index: map[string]int{}}
		before, large = saver.apply(before)
		rs.recordPatch(before, candidates, large, covers, dirs)
		parts = append(parts, rs.parts...)
	}
	done := s.ms()
	msg.Time.Completed = &done
	if err := s.putMessage(msg); err != nil {
		return storage.WithParts{}, err
	}
	return storage.WithParts{Info: msg, Parts: parts}, nil
}

// newAssistant returns an empty assistant message for agent and model.
func (s *Service) newAssistant(sessionID, agent, providerID, modelID string) storage.Message {
	return storage.Message{
		ID: s.ids.Ascending(storage.PrefixMessage), SessionID: sessionID, Role: storage.RoleAssistant,
		Time: storage.MessageTime{Created: s.ms()}, System: []string{}, Mode: agent,
		ProviderID: providerID, ModelID: modelID,
		Path:   &storage.MessagePath{Cwd: s.opts.Cwd, Root: s.opts.Root},
		Tokens: &storage.Tokens{},
	}
}

// touch bumps a session's time.updated.
func (s *Service) touch(id string) {
	if _, err := s.Update(id, nil); err != nil {
		s.log.Warn("Could not touch session", "session", id, "err", err)
	}
}

// liveOutput collects a command's combined output up to shellOutputCap.
type liveOutput struct {
	mu        sync.Mutex
	buf       bytes.Buffer
	truncated bool
}

func (o *liveOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if room := shellOutputCap - o.buf.Len(); room > 0 {
		o.buf.Write(p[:min(len(p), room)])
	}
	if o.buf.Len() >= shellOutputCap {
		o.truncated = true
	}
	return len(p), nil
}

func (o *liveOutput) snapshot() (string, int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := o.buf.String()
	if o.truncated {
		s += "\n[output truncated]"
	}
	return s, o.buf.Len()
}
