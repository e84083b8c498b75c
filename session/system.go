package session

import (
	"context"
	"embed"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"ocgo/llm"

	"ocgo/confine"
	"ocgo/provider"
	"ocgo/relpath"
	"ocgo/storage"
)

// The agent prompts per model family live in prompts/<family>.txt, in
// ocgo's own words; the family comes from provider.Family. Qwen and models
// of no known family share default.txt, which, like the original's, does
// not push the todo tools.
//
//go:embed prompts/*.txt
var prompts embed.FS

// familyPrompt is the agent prompt used when neither the request nor the
// agent brings one.
func familyPrompt(modelID string) string {
	name := provider.Family(modelID)
	switch name {
	case provider.FamilyQwen, provider.FamilyDefault:
		name = "default"
	case provider.FamilyGPT5:
		name = "gpt5"
	}
	data, err := prompts.ReadFile("prompts/" + name + ".txt")
	if err != nil {
		data, _ = prompts.ReadFile("prompts/default.txt")
	}
	return strings.TrimSpace(string(data))
}

// summaryPrompt asks for a compaction summary.
const summaryPrompt = `You summarize a coding session so it can continue without the full history.
Write a concise but complete summary: what was asked, what was done, which files were changed and how,
what is in progress, and what should happen next. Keep file paths and names exact.`

// summaryRequest is the instruction sent after the history in /summarize.
const summaryRequest = "Summarize the conversation above as instructed, so the work can continue from the summary alone."

// summaryQuestion precedes a summary that opens the history.
const summaryQuestion = "What did we do so far?"

// planReminder is attached to the user's message in every request of a
// plan-agent run (not stored): the model may only look and think.
const planReminder = `<system-reminder>
Plan mode is on. This turn is for understanding and planning only; it overrides any other instruction, including the user's, that asks for changes.
- Do not create, modify or delete any file, and do not use edit, write or patch.
- Run only commands that change nothing: reading, searching, listing, inspecting git history or status. No installs, builds that write output, commits, moves or deletions.
- Read the code you need, then answer with a concrete plan: which files change, how, in what order, and what to check afterwards. Ask when something is unclear.
</system-reminder>`

// buildSwitchReminder is attached when the user switches from the plan
// agent back to build: the earlier read-only instruction no longer holds.
const buildSwitchReminder = `<system-reminder>
The user switched from plan mode to build mode. The read-only restriction is lifted: you may now edit files, run commands and use every tool you have to carry out the work, for example the plan made earlier.
</system-reminder>`

// systemPrompt builds the two system entries opencode stores on the
// assistant message: the agent (or request) prompt first, then the
// environment and the project's rules.
func (s *Service) systemPrompt(in loopInput) []string {
	first := familyPrompt(in.model.Model.ID)
	switch {
	case in.summary:
		first = summaryPrompt
	case in.system != "":
		first = in.system
	case in.agent.Prompt != "":
		first = in.agent.Prompt
	}
	rest := []string{s.environment()}
	rest = append(rest, s.rules()...)
	return []string{first, strings.Join(rest, "\n")}
}

// reminder returns the synthetic text attached to the user's message for
// this run: plan mode's read-only rule, or the note that build mode is back
// after a plan turn. It is sent, never stored, as in the original.
func (s *Service) reminder(in loopInput) string {
	if in.summary {
		return ""
	}
	if in.agent.Name == "plan" {
		return planReminder
	}
	if in.agent.Name != "build" {
		return ""
	}
	msgs, err := s.store.Messages(in.sessionID)
	if err != nil {
		return ""
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		if m := msgs[i].Info; m.Role == storage.RoleAssistant && m.ID < in.user.ID {
			if m.Mode == "plan" {
				return buildSwitchReminder
			}
			return ""
		}
	}
	return ""
}

// withReminder appends text to the last user message of the prompt.
func withReminder(msgs []llm.Message, text string) []llm.Message {
	if text == "" {
		return msgs
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == llm.MessageRoleUser {
			m := msgs[i]
			m.Content = append(append([]llm.MessagePart{}, m.Content...), llm.TextPart{Text: text})
			msgs[i] = m
			break
		}
	}
	return msgs
}

// environment describes where the agent runs, with a short file listing.
func (s *Service) environment() string {
	git := "no"
	if _, err := os.Stat(filepath.Join(s.opts.Root, ".git")); err == nil {
		git = "yes"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Here is some useful information about the environment you are running in:\n<env>\n")
	fmt.Fprintf(&b, "  Working directory: %s\n  Is directory a git repo: %s\n  Platform: %s\n  Today's date: %s\n</env>\n",
		s.opts.Cwd, git, runtime.GOOS, s.now().Format("Mon Jan 02 2006"))
	fmt.Fprintf(&b, "<project>\n%s</project>", s.listing(200))
	return b.String()
}

// skipDirs are never listed in the environment block.
var skipDirs = map[string]bool{".git": true, "node_modules": true, "vendor": true, "dist": true, "build": true, "target": true, ".venv": true, "__pycache__": true}

// listing returns up to limit paths of the served directory from the
// project's file index (so git's ignore rules hold), directories with a
// trailing slash, the first in path order, hidden directories and the
// skipDirs left out.
func (s *Service) listing(limit int) string {
	files, dirs, err := s.indexed(context.Background(), ".", true)
	if err != nil {
		return ""
	}
	shown := func(p string, isDir bool) bool {
		comps := strings.Split(p, "/")
		if !isDir {
			comps = comps[:len(comps)-1]
		}
		for _, c := range comps {
			if skipDirs[c] || strings.HasPrefix(c, ".") {
				return false
			}
		}
		return s.opts.FS == nil || !s.opts.FS.Denied(p)
	}
	var paths []string
	for i, j := 0, 0; len(paths) < limit && (i < len(files) || j < len(dirs)); {
		if j < len(dirs) && (i == len(files) || dirs[j]+"/" < files[i]) {
			if shown(dirs[j], true) {
				paths = append(paths, dirs[j]+"/")
			}
			j++
			continue
		}
		if shown(files[i], false) {
			paths = append(paths, files[i])
		}
		i++
	}
	return strings.Join(paths, "\n") + "\n"
}

// maxRulesFile bounds one instructions file.
const maxRulesFile = 1 << 20

// rules gathers instruction files: the first of AGENTS.md, CLAUDE.md,
// CONTEXT.md found walking up from the served directory to the project
// root, the global AGENTS.md, and the config's "instructions" files.
// Project files are read through confine (no symlink out of the project,
// no special file, no .git); files outside the project (the global
// AGENTS.md, absolute instructions) only when regular, and never more than
// fstat reports, so /proc pseudo-files read as empty.
func (s *Service) rules() []string {
	var out []string
	proj, err := confine.Open(s.opts.Root, confine.Options{})
	if err == nil {
		defer proj.Close()
	}
	add := func(path string) bool {
		var data []byte
		if rel, in := relpath.Within(s.opts.Root, path); in {
			if proj == nil {
				return false
			}
			data, err = proj.ReadFileLimit(rel, maxRulesFile)
		} else {
			data, err = confine.ReadRegular(path, maxRulesFile)
		}
		if err != nil || len(data) == 0 {
			return false
		}
		out = append(out, "Instructions from: "+path+"\n"+string(data))
		return true
	}
	for _, name := range []string{"AGENTS.md", "CLAUDE.md", "CONTEXT.md"} {
		found := false
		for d := s.opts.Cwd; ; d = filepath.Dir(d) {
			if add(filepath.Join(d, name)) {
				found = true
			}
			if d == s.opts.Root || filepath.Dir(d) == d {
				break
			}
		}
		if found {
			break
		}
	}
	if s.opts.ConfigDir != "" {
		add(filepath.Join(s.opts.ConfigDir, "AGENTS.md"))
	}
	if s.opts.Config != nil {
		for _, pattern := range s.opts.Config.Instructions {
			if !filepath.IsAbs(pattern) {
				pattern = filepath.Join(s.opts.Root, pattern)
			}
			matches, _ := filepath.Glob(pattern)
			for _, m := range matches {
				add(m)
			}
		}
	}
	return out
}
