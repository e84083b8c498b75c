package tool

import (
	"context"
	"encoding/json"
	"fmt"
)

var todoItemSchema = map[string]any{
	"type": "object",
	"properties": map[string]any{
		"content":  map[string]any{"type": "string", "description": "Brief description of the task"},
		"status":   map[string]any{"type": "string", "description": "Current status of the task: pending, in_progress, completed, cancelled"},
		"priority": map[string]any{"type": "string", "description": "Priority level of the task: high, medium, low"},
		"id":       map[string]any{"type": "string", "description": "Unique identifier for the todo item"},
	},
	"required":             []string{"content", "status", "priority", "id"},
	"additionalProperties": false,
}

type todoWriteTool struct{}

func (todoWriteTool) Info() Info {
	return Info{
		Name:        "todowrite",
		Description: describe("todowrite", nil),
		Parameters: map[string]any{
			"todos": map[string]any{"type": "array", "items": todoItemSchema, "description": "The updated todo list"},
		},
		Required: []string{"todos"},
	}
}

type todoInput struct {
	Todos *[]Todo `json:"todos"`
}

var (
	todoStatuses   = map[string]bool{"pending": true, "in_progress": true, "completed": true, "cancelled": true}
	todoPriorities = map[string]bool{"high": true, "medium": true, "low": true}
)

func (todoWriteTool) Run(ctx context.Context, call Call, env Env) (Result, error) {
	var in todoInput
	if err := decode(call.Input, &in); err != nil {
		return Result{}, err
	}
	if in.Todos == nil {
		return Result{}, fmt.Errorf("%w: todos is required", ErrInvalidInput)
	}
	todos := *in.Todos
	for i, t := range todos {
		if t.Content == "" || t.ID == "" || !todoStatuses[t.Status] || !todoPriorities[t.Priority] {
			return Result{}, fmt.Errorf("%w: todo %d needs content, id, a status of pending|in_progress|completed|cancelled and a priority of high|medium|low", ErrInvalidInput, i)
		}
	}
	if err := env.Todos().Set(call.SessionID, todos); err != nil {
		return Result{}, fmt.Errorf("save todos: %w", err)
	}
	return todoResult(todos)
}

type todoReadTool struct{}

func (todoReadTool) Info() Info {
	return Info{
		Name:        "todoread",
		Description: describe("todoread", nil),
		Parameters:  map[string]any{},
	}
}

func (todoReadTool) Run(ctx context.Context, call Call, env Env) (Result, error) {
	todos, err := env.Todos().Get(call.SessionID)
	if err != nil {
		return Result{}, fmt.Errorf("load todos: %w", err)
	}
	return todoResult(todos)
}

// todoResult: output is the list as indented JSON, title the number of
// unfinished items, metadata.todos the list.
func todoResult(todos []Todo) (Result, error) {
	if todos == nil {
		todos = []Todo{}
	}
	b, err := json.MarshalIndent(todos, "", "  ")
	if err != nil {
		return Result{}, err
	}
	open := 0
	for _, t := range todos {
		if t.Status != "completed" {
			open++
		}
	}
	return Result{
		Title:    fmt.Sprintf("%d todos", open),
		Output:   string(b),
		Metadata: map[string]any{"todos": todos},
	}, nil
}
