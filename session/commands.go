package session

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"ocgo/llm"

	"ocgo/config"
	"ocgo/provider"
	"ocgo/storage"
)

// Summarize compacts a session: the model writes a summary message
// (summary: true) over the history since the previous summary, and later
// prompts send only the history from that summary on. It fails with
// ErrBusy while the session runs.
func (s *Service) Summarize(ctx context.Context, sessionID, providerID, modelID string) (storage.WithParts, error) {
	if _, err := s.Get(sessionID); err != nil {
		return storage.WithParts{}, err
	}
	agent, err := s.agent("build")
	if err != nil {
		return storage.WithParts{}, err
	}
	model, err := s.resolveModel(ctx, providerID, modelID, agent)
	if err != nil {
		return storage.WithParts{}, err
	}
	runCtx, end, err := s.begin(ctx, sessionID)
	if err != nil {
		return storage.WithParts{}, err
	}
	defer end()
	return s.summarize(runCtx, sessionID, agent, model)
}

func (s *Service) summarize(ctx context.Context, sessionID string, agent agentView, model *provider.Resolved) (storage.WithParts, error) {
	return s.runLoop(ctx, loopInput{
		sessionID: sessionID, agent: agent, model: model, summary: true,
		extra: []llm.Message{llm.NewUserMessage(summaryRequest)},
	})
}

// initPrompt asks the agent to write or improve AGENTS.md.
const initPrompt = `Analyze this project and create an AGENTS.md file at %s (or improve the existing one) for coding agents.
Keep it short (about 20 lines): the commands to build, lint and test (including how to run a single test), and
the code style: imports, formatting, types, naming, error handling. Include existing rules from files such as
.cursor/rules, .cursorrules or .github/copilot-instructions.md when present.`

// Init runs the agent with the "write AGENTS.md" prompt, then marks the
// app initialized through markInit.
func (s *Service) Init(ctx context.Context, sessionID, messageID, providerID, modelID string, markInit func() error) error {
	res, err := s.Prompt(ctx, sessionID, PromptInput{
		MessageID: messageID, ProviderID: providerID, ModelID: modelID,
		Parts: []InputPart{{Type: storage.PartText, Text: fmt.Sprintf(initPrompt, filepath.Join(s.opts.Root, "AGENTS.md"))}},
	})
	if err != nil {
		return err
	}
	if res.Info.Error != nil {
		return fmt.Errorf("init failed: %s", res.Info.Error.Name)
	}
	if markInit != nil {
		return markInit()
	}
	return nil
}

// CommandInput is the body of POST /session/:id/command.
type CommandInput struct {
	MessageID string `json:"messageID,omitempty"`
	Agent     string `json:"agent,omitempty"`
	Model     string `json:"model,omitempty"`
	Arguments string `json:"arguments"`
	Command   string `json:"command"`
}

// Validate checks the input before anything runs or is written.
func (in *CommandInput) Validate() error {
	if in.Command == "" {
		return fmt.Errorf("%w: command is required", ErrInvalid)
	}
	if in.MessageID != "" {
		if err := checkMessageID(in.MessageID); err != nil {
			return err
		}
	}
	return nil
}

var (
	shellRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile("!`([^`]+)`") })
	fileRe  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?:^|\s)@(\S+)`) })
)

// Command expands a slash-command template ($ARGUMENTS, !`cmd` output,
// @file attachments) and sends it as a prompt.
func (s *Service) Command(ctx context.Context, sessionID string, in CommandInput) (storage.WithParts, error) {
	if err := in.Validate(); err != nil {
		return storage.WithParts{}, err
	}
	if s.opts.Config == nil {
		return storage.WithParts{}, fmt.Errorf("%w: command %q does not exist", ErrNotFound, in.Command)
	}
	if _, err := s.Get(sessionID); err != nil {
		return storage.WithParts{}, err // before any !`cmd` runs
	}
	cmd, ok := s.opts.Config.Command(in.Command)
	if !ok {
		return storage.WithParts{}, fmt.Errorf("command %q: %w", in.Command, ErrNotFound)
	}
	agent := firstNonEmpty(cmd.Agent, in.Agent, "build")
	model := firstNonEmpty(cmd.Model, in.Model)
	if model == "" {
		if a, err := s.agent(agent); err == nil && a.ProviderID != "" {
			model = a.ProviderID + "/" + a.ModelID
		}
	}
	providerID, modelID, _ := strings.Cut(model, "/")
	tmpl := cmd.Template
	files := fileRe().FindAllStringSubmatch(tmpl, -1)
	text := strings.Replace(tmpl, "$ARGUMENTS", in.Arguments, 1)
	var shellErr error
	view, _ := s.agent(agent)
	text = shellRe().ReplaceAllStringFunc(text, func(m string) string {
		sub := shellRe().FindStringSubmatch(m)[1]
		// The template's command is a bash command like any other: the
		// agent's bash permission applies before it runs.
		if err := s.templatePermission(ctx, sessionID, view, sub); err != nil {
			shellErr = err
			return "(command not run: " + err.Error() + ")"
		}
		c, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(c, s.opts.Shell, "-c", sub)
		cmd.Dir = s.opts.Cwd
		cmd.Env = append(s.opts.Environ(), "TERM=dumb")
		out, err := cmd.CombinedOutput()
		if err != nil && len(out) == 0 {
			shellErr = err
		}
		return strings.TrimRight(string(out), "\n")
	})
	if shellErr != nil {
		s.log.Info("Command template shell step failed", "command", in.Command, "err", shellErr)
	}
	parts := []InputPart{{Type: storage.PartText, Text: text}}
	for _, f := range files {
		p := templateFile(f[1], s.opts.Home, s.opts.Cwd)
		if _, err := s.relPath(p); err != nil {
			// The file tools are confined to the project; so are
			// attachments (and a path outside it is not even looked at).
			s.log.Info("Command file reference outside the project skipped", "command", in.Command)
			continue
		}
		if _, err := os.Stat(p); err != nil {
			continue
		}
		parts = append(parts, InputPart{Type: storage.PartFile, Mime: "text/plain", Filename: filepath.Base(p), URL: "file://" + p})
	}
	return s.Prompt(ctx, sessionID, PromptInput{MessageID: in.MessageID, Agent: agent, ProviderID: providerID, ModelID: modelID, Parts: parts})
}

// templateFile is the file a command template's @ reference names: "~/"
// is the injected home (Options.Home; without one it is a name like any
// other, never the process's $HOME), and a relative name is below cwd.
func templateFile(ref, home, cwd string) string {
	if rest, ok := strings.CutPrefix(ref, "~/"); ok && home != "" {
		return filepath.Join(home, rest)
	}
	if filepath.IsAbs(ref) {
		return ref
	}
	return filepath.Join(cwd, ref)
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// templatePermission applies the agent's bash permission to a template's
// !`cmd`: allow runs it, deny refuses, ask waits for the user's answer.
func (s *Service) templatePermission(ctx context.Context, sessionID string, a agentView, command string) error {
	action := "allow"
	if len(a.Bash) > 0 {
		action = config.EvalPermission(a.Bash, command)
	}
	switch action {
	case "deny":
		return fmt.Errorf("%w: the bash permission denies %q", ErrRejected, command)
	case "ask":
		return s.Ask(ctx, storage.Permission{Type: "bash", Pattern: command, SessionID: sessionID,
			Title: command, Metadata: map[string]any{"command": command}})
	}
	return nil
}
