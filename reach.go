package main

import (
	"context"
	"os"

	"ocgo/format"
)

// editHooks is what runs on the files edit, write and patch wrote, before
// the call's after-snapshot: the formatters, whose runs go into the tool
// part's metadata.formatter.
type editHooks struct {
	format *format.Service
}

// AfterEdit implements session.EditHooks.
func (h editHooks) AfterEdit(ctx context.Context, files []string) (string, map[string]any) {
	meta := map[string]any{}
	var runs []format.Result
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			continue // deleted by a patch
		}
		runs = append(runs, h.format.Format(ctx, f)...)
	}
	if len(runs) > 0 {
		meta["formatter"] = runs
	}
	return "", meta
}
