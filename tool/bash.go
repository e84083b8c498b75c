package tool

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"ocgo/relpath"
	"ocgo/trace"
)

var execLookPath = exec.LookPath

type bashTool struct{ opts Options }

func (t *bashTool) Info() Info {
	return Info{
		Name:        "bash",
		Description: describe("bash", map[string]any{"default_timeout": t.opts.BashTimeout.Milliseconds(), "max_timeout": MaxBashTimeout.Milliseconds(), "output_cap": t.opts.OutputCap}),
		Parameters: map[string]any{
			"command": map[string]any{"type": "string", "description": "The command to execute"},
			"timeout": map[string]any{"type": "number", "description": "Optional timeout in milliseconds"},
			"description": map[string]any{"type": "string", "description": "Clear, concise description of what this command does in 5-10 words. Examples:\n" +
				"Input: ls\nOutput: Lists files in current directory\n\nInput: git status\nOutput: Shows working tree status\n\n" +
				"Input: npm install\nOutput: Installs package dependencies\n\nInput: mkdir foo\nOutput: Creates directory 'foo'"},
		},
		Required: []string{"command", "description"},
	}
}

type bashInput struct {
	Command     string `json:"command"`
	Timeout     number `json:"timeout"`
	Description string `json:"description"`
}

// pathCommands may not name paths outside the root.
var pathCommands = map[string]bool{"cd": true, "rm": true, "cp": true, "mv": true, "mkdir": true, "touch": true, "chmod": true, "chown": true}

// Run runs the command. Its Result.Changed is always set: a command that
// never started (invalid, denied, rejected) changed nothing.
func (t *bashTool) Run(ctx context.Context, call Call, env Env) (Result, error) {
	res, err := t.run(ctx, call, env)
	if res.Changed == nil {
		res.Changed = func() trace.Set { return trace.Set{} }
	}
	return res, err
}

func (t *bashTool) run(ctx context.Context, call Call, env Env) (Result, error) {
	var in bashInput
	if err := decode(call.Input, &in); err != nil {
		return Result{}, err
	}
	if err := required("command", in.Command); err != nil {
		return Result{}, err
	}
	timeout := t.opts.BashTimeout
	if in.Timeout.set {
		if in.Timeout.v < 0 {
			return Result{}, fmt.Errorf("%w: invalid timeout value: %v; timeout must be a positive number", ErrInvalidInput, in.Timeout.v)
		}
		if in.Timeout.v > 0 {
			timeout = min(time.Duration(in.Timeout.v)*time.Millisecond, MaxBashTimeout)
		}
	}
	if err := t.authorize(ctx, call, env, in.Command); err != nil {
		return Result{}, err
	}
	return t.exec(ctx, env, in, timeout)
}

// authorize checks path arguments of file-system commands and the bash
// permission of every simple command; the most restrictive action wins and
// "ask" produces one request for the whole command.
func (t *bashTool) authorize(ctx context.Context, call Call, env Env, command string) error {
	pieces, subst := SplitCommands(command)
	root := filepath.Clean(env.RootPath())
	action := Allow
	consider := func(text string) { action = stricter(action, env.Permission("bash", text)) }
	if subst {
		consider(command)
	}
	for _, p := range pieces {
		words := shellWords(p)
		if len(words) == 0 {
			continue
		}
		if target, ok := redirectOutside(root, words); ok {
			return fmt.Errorf("%w: this command redirects output to a path outside of the project so it is not allowed to be executed: %s", ErrDenied, target)
		}
		name := words[0]
		if pathCommands[name] {
			for _, arg := range words[1:] {
				if strings.HasPrefix(arg, "-") || (name == "chmod" && isMode(arg)) {
					continue
				}
				if !argInside(root, arg) {
					return fmt.Errorf("%w: this command references paths outside of the project so it is not allowed to be executed: %s", ErrDenied, p)
				}
			}
		}
		if name == "cd" {
			continue
		}
		consider(p)
	}
	switch action {
	case Deny:
		return fmt.Errorf("%w: the user has specifically restricted access to this command: %q", ErrDenied, command)
	case Ask:
		return env.Ask(ctx, call, Permission{
			Type:     "bash",
			Pattern:  command,
			Title:    command,
			Metadata: map[string]any{"command": command},
		})
	}
	return nil
}

// redirectOutside finds an output redirection (>, >>, 2>, &>, >|) whose
// target lies outside root; /dev/null and the standard streams are fine.
func redirectOutside(root string, words []string) (string, bool) {
	for i, w := range words {
		j := strings.IndexByte(w, '>')
		if j < 0 || strings.Trim(w[:j], "0123456789&") != "" {
			continue
		}
		target := strings.TrimLeft(w[j:], ">|")
		if target == "" && i+1 < len(words) {
			target = words[i+1]
		}
		if strings.HasPrefix(target, "&") || target == "/dev/null" || target == "/dev/stdout" || target == "/dev/stderr" {
			continue
		}
		if target != "" && !argInside(root, target) {
			return target, true
		}
	}
	return "", false
}

func isMode(s string) bool {
	return strings.Trim(s, "01234567ugoarwxXst+-=,") == ""
}

// argInside reports whether a path argument stays inside root. Arguments the
// shell would expand (variables, ~, substitutions) cannot be resolved here and
// are refused.
func argInside(root, arg string) bool {
	if strings.ContainsAny(arg, "$`~") {
		return false
	}
	p := arg
	if !filepath.IsAbs(p) {
		p = filepath.Join(root, p)
	}
	return relpath.In(root, filepath.Clean(p))
}

// SplitCommands splits a command line into simple commands at &&, ||, ;, |,
// & and newlines outside quotes. Command substitutions ($(...), backticks)
// and subshell parentheses also split, so their inner commands are checked
// too; subst reports whether any substitution was seen, in which case the
// caller also evaluates the whole string.
func SplitCommands(s string) (pieces []string, subst bool) {
	var cur strings.Builder
	flush := func() {
		if p := strings.TrimSpace(cur.String()); p != "" {
			pieces = append(pieces, p)
		}
		cur.Reset()
	}
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote == '\'':
			cur.WriteByte(c)
			if c == '\'' {
				quote = 0
			}
			continue
		case c == '\\' && i+1 < len(s):
			cur.WriteByte(c)
			cur.WriteByte(s[i+1])
			i++
			continue
		case c == '$' && i+1 < len(s) && s[i+1] == '(':
			subst = true
			flush()
			i++
			continue
		case c == '`':
			subst = true
			flush()
			continue
		case c == '<' && i+1 < len(s) && s[i+1] == '(', c == '>' && i+1 < len(s) && s[i+1] == '(':
			subst = true
			flush()
			i++
			continue
		case quote == '"':
			if c == '"' {
				quote = 0
			}
			if c == ')' {
				flush()
				continue
			}
			cur.WriteByte(c)
			continue
		case c == '"' || c == '\'':
			quote = c
			cur.WriteByte(c)
			continue
		case c == ';' || c == '\n' || c == '|' || c == '&' || c == '(' || c == ')':
			flush()
			continue
		}
		cur.WriteByte(c)
	}
	flush()
	return pieces, subst
}

// shellWords splits a simple command into words, removing quotes.
func shellWords(s string) []string {
	var words []string
	var cur strings.Builder
	in := false
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '\\' && i+1 < len(s):
			cur.WriteByte(s[i+1])
			i++
			in = true
		case c == '"' || c == '\'':
			quote = c
			in = true
		case c == ' ' || c == '\t':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	// Leading NAME=value assignments are not the command name.
	for len(words) > 1 && strings.Contains(words[0], "=") && !strings.HasPrefix(words[0], "=") {
		words = words[1:]
	}
	return words
}

// capture accumulates combined output up to a cap and streams it to the core.
type capture struct {
	mu        sync.Mutex
	buf       []byte
	cap       int
	truncated bool
	last      time.Time
	notify    func(string)
}

func (c *capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	if room := c.cap - len(c.buf); room > 0 {
		if len(p) > room {
			c.buf = append(c.buf, p[:room]...)
			c.truncated = true
		} else {
			c.buf = append(c.buf, p...)
		}
	} else if len(p) > 0 {
		c.truncated = true
	}
	var snap string
	send := time.Since(c.last) >= 50*time.Millisecond
	if send {
		c.last = time.Now()
		snap = string(c.buf)
	}
	c.mu.Unlock()
	if send && c.notify != nil {
		c.notify(snap)
	}
	return len(p), nil
}

func (c *capture) String() (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return string(c.buf), c.truncated
}

func (t *bashTool) exec(ctx context.Context, env Env, in bashInput, timeout time.Duration) (Result, error) {
	meta := func(out string) map[string]any {
		return map[string]any{"output": out, "description": in.Description}
	}
	out := &capture{cap: t.opts.OutputCap, notify: func(s string) { env.Update(ctx, meta(s), in.Command) }}
	env.Update(ctx, meta(""), in.Command)

	cmd := exec.Command(t.opts.Shell, "-c", in.Command)
	cmd.Dir = env.RootPath()
	cmd.Env = append(t.opts.Environ(), "TERM=dumb")
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Background children may keep the output pipe open after the shell
	// exits; stop waiting for them shortly after.
	cmd.WaitDelay = 500 * time.Millisecond
	// Before the command's first change to a path, the core may still
	// save what it holds (a file too large for the before-snapshot).
	run, err := t.opts.Tracer.StartHook(cmd, func(abs string) { env.Editing(abs) })
	if err != nil {
		return Result{}, fmt.Errorf("start shell: %w", err)
	}
	pgid := cmd.Process.Pid
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var waitErr error
	timedOut, aborted := false, false
	select {
	case waitErr = <-done:
	case <-timer.C:
		timedOut = true
	case <-ctx.Done():
		aborted = true
	}
	if timedOut || aborted {
		killGroup(pgid)
		waitErr = <-done
	}

	text, truncated := out.String()
	var exit any
	if cmd.ProcessState != nil && cmd.ProcessState.Exited() {
		exit = cmd.ProcessState.ExitCode()
	}
	var ee *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &ee) && !errors.Is(waitErr, exec.ErrWaitDelay) && !timedOut && !aborted {
		return Result{}, fmt.Errorf("run command: %w", waitErr)
	}
	output := text
	if truncated {
		output += "\n\n(Output was truncated due to length limit)"
	}
	if timedOut {
		output += fmt.Sprintf("\n\n(Command timed out after %d ms)", timeout.Milliseconds())
	}
	m := meta(text)
	m["exit"] = exit
	res := Result{Title: in.Command, Output: output, Metadata: m, Changed: run.Result}
	if aborted {
		return res, fmt.Errorf("command aborted: %w", ctx.Err())
	}
	return res, nil
}

// killGroup kills every process of the command's process group.
func killGroup(pgid int) {
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}
