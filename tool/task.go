package tool

import (
	"context"
	"fmt"
	"strings"
)

type taskTool struct{ agents func() []AgentInfo }

func (t *taskTool) Info() Info {
	var list strings.Builder
	if t.agents != nil {
		for _, a := range t.agents() {
			fmt.Fprintf(&list, "- %s: %s\n", a.Name, a.Description)
		}
	}
	return Info{
		Name:        "task",
		Description: describe("task", map[string]any{"agents": strings.TrimRight(list.String(), "\n")}),
		Parameters: map[string]any{
			"description":   map[string]any{"type": "string", "description": "A short (3-5 words) description of the task"},
			"prompt":        map[string]any{"type": "string", "description": "The task for the agent to perform"},
			"subagent_type": map[string]any{"type": "string", "description": "The type of specialized agent to use for this task"},
		},
		Required: []string{"description", "prompt", "subagent_type"},
	}
}

type taskInput struct {
	Description  string `json:"description"`
	Prompt       string `json:"prompt"`
	SubagentType string `json:"subagent_type"`
}

func (t *taskTool) Run(ctx context.Context, call Call, env Env) (Result, error) {
	var in taskInput
	if err := decode(call.Input, &in); err != nil {
		return Result{}, err
	}
	for _, f := range []struct{ n, v string }{{"description", in.Description}, {"prompt", in.Prompt}, {"subagent_type", in.SubagentType}} {
		if err := required(f.n, f.v); err != nil {
			return Result{}, err
		}
	}
	if t.agents != nil {
		known := false
		for _, a := range t.agents() {
			known = known || a.Name == in.SubagentType
		}
		if !known {
			return Result{}, fmt.Errorf("%w: unknown agent type: %s is not a valid agent type", ErrInvalidInput, in.SubagentType)
		}
	}
	res, err := env.Subtask(ctx, SubtaskRequest{
		ParentSessionID: call.SessionID,
		ParentMessageID: call.MessageID,
		CallID:          call.ID,
		Description:     in.Description,
		Prompt:          in.Prompt,
		Agent:           in.SubagentType,
	})
	meta := map[string]any{"summary": res.Summary}
	if res.SessionID != "" {
		meta["sessionId"] = res.SessionID
	}
	out := Result{Title: in.Description, Output: res.Output, Metadata: meta}
	if err != nil {
		return out, fmt.Errorf("subtask: %w", err)
	}
	return out, nil
}
