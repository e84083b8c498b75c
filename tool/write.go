package tool

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
)

type writeTool struct{}

func (writeTool) Info() Info {
	return Info{
		Name:        "write",
		Description: describe("write", nil),
		Parameters: map[string]any{
			"filePath": map[string]any{"type": "string", "description": "The absolute path to the file to write (must be absolute, not relative)"},
			"content":  map[string]any{"type": "string", "description": "The content to write to the file"},
		},
		Required: []string{"filePath", "content"},
	}
}

type writeInput struct {
	FilePath string  `json:"filePath"`
	Content  *string `json:"content"`
}

func (writeTool) Run(ctx context.Context, call Call, env Env) (Result, error) {
	var in writeInput
	if err := decode(call.Input, &in); err != nil {
		return Result{}, err
	}
	if err := required("filePath", in.FilePath); err != nil {
		return Result{}, err
	}
	if in.Content == nil {
		return Result{}, fmt.Errorf("%w: content is required", ErrInvalidInput)
	}
	r, err := resolvePath(env, in.FilePath)
	if err != nil {
		return Result{}, err
	}
	root := env.Root()
	exists := false
	st, err := root.Stat(r.rel)
	switch {
	case err == nil:
		if st.IsDir() {
			return Result{}, fmt.Errorf("%w: %s is a directory", ErrInvalidInput, in.FilePath)
		}
		exists = true
		if err := assertFresh(env, call, r, st.ModTime()); err != nil {
			return Result{}, err
		}
	case errors.Is(err, fs.ErrNotExist):
	default:
		return Result{}, fsErr(err, in.FilePath)
	}
	title := "Create new file: " + r.abs
	if exists {
		title = "Overwrite this file: " + r.abs
	}
	if err := checkPermission(ctx, env, call, "edit", r.abs, Permission{
		Type:     "write",
		Title:    title,
		Metadata: map[string]any{"filePath": r.abs, "content": *in.Content, "exists": exists},
	}); err != nil {
		return Result{}, err
	}
	env.Editing(r.abs)
	if err := writeFile(env, root, r.rel, []byte(*in.Content)); err != nil {
		return Result{}, fsErr(err, in.FilePath)
	}
	env.Edited(r.abs)
	env.FileRead(call.SessionID, r.abs)
	return Result{
		Title:  relTitle(env, r.abs),
		Output: "",
		Metadata: map[string]any{
			"diagnostics": map[string]any{},
			"filepath":    r.abs,
			"exists":      exists,
		},
	}, nil
}
