package app

import (
	"context"
	"os"
	"strings"

	"ocgo/format"
	"ocgo/lsp"
	"ocgo/search"
)

// editHooks is what runs on the files edit, write and patch wrote, before
// the call's after-snapshot: the formatters (their runs go into the tool
// part's metadata.formatter), then the language servers, whose errors for
// those files are appended to the tool output as opencode words them
// (metadata.diagnostics holds everything they published, by file).
type editHooks struct {
	format *format.Service
	lsp    *lsp.Service
}

// AfterEdit implements session.EditHooks.
func (h editHooks) AfterEdit(ctx context.Context, files []string) (string, map[string]any) {
	meta := map[string]any{}
	var runs []format.Result
	var out strings.Builder
	diags := map[string][]lsp.Diagnostic{}
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			continue // deleted by a patch
		}
		if h.format != nil {
			runs = append(runs, h.format.Format(ctx, f)...)
		}
		if h.lsp == nil {
			continue
		}
		h.lsp.Touch(ctx, f)
		if all := h.lsp.Diagnostics(f); len(all) > 0 {
			diags[f] = all
		}
		if errs := h.lsp.Errors(f); len(errs) > 0 {
			out.WriteString("\nThis file has errors, please fix\n<file_diagnostics>\n")
			for i, d := range errs {
				if i > 0 {
					out.WriteString("\n")
				}
				out.WriteString(d.Pretty())
			}
			out.WriteString("\n</file_diagnostics>\n")
		}
	}
	if len(runs) > 0 {
		meta["formatter"] = runs
	}
	if h.lsp != nil {
		meta["diagnostics"] = diags
	}
	return out.String(), meta
}

// workspaceSymbols answers /find/symbol from the running language servers
// (search falls back to its own extractors when none runs or none
// answers).
func workspaceSymbols(langs **lsp.Service) func(context.Context, string) ([]search.Symbol, bool) {
	return func(ctx context.Context, query string) ([]search.Symbol, bool) {
		if *langs == nil {
			return nil, false
		}
		return (*langs).WorkspaceSymbols(ctx, query)
	}
}
