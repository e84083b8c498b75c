package tool

import "context"

type invalidTool struct{}

func (invalidTool) Info() Info {
	return Info{
		Name:        "invalid",
		Description: "Do not use",
		Parameters: map[string]any{
			"tool":  map[string]any{"type": "string"},
			"error": map[string]any{"type": "string"},
		},
		Required: []string{"tool", "error"},
	}
}

type invalidInput struct {
	Tool  string `json:"tool"`
	Error string `json:"error"`
}

// Run reports a tool call the model made with a wrong name or input; the
// core repairs such calls into this tool.
func (invalidTool) Run(ctx context.Context, call Call, env Env) (Result, error) {
	var in invalidInput
	if err := decode(call.Input, &in); err != nil {
		return Result{}, err
	}
	return Result{
		Title:    "Invalid Tool",
		Output:   "The arguments provided to the tool are invalid: " + in.Error,
		Metadata: map[string]any{},
	}, nil
}
