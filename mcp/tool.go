package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"ocgo/tool"
)

// mcpTool is one server tool seen as an agent tool.
type mcpTool struct {
	s      *server
	name   string // as offered: <server>_<tool>
	remote string // the server's own name for it
	info   tool.Info
}

func (t *mcpTool) Info() tool.Info { return t.info }

// Run calls the server's tool. Text content becomes the output (parts
// joined by a blank line, as opencode joins them); images, audio and
// resources are described in the output and listed in metadata.content.
// A result with isError fails the tool call with that text.
func (t *mcpTool) Run(ctx context.Context, call tool.Call, _ tool.Env) (tool.Result, error) {
	var args map[string]any
	if len(call.Input) > 0 {
		if err := json.Unmarshal(call.Input, &args); err != nil {
			return tool.Result{}, fmt.Errorf("%w: %v", tool.ErrInvalidInput, err)
		}
	}
	res, err := t.s.call(ctx, t.remote, args)
	if err != nil {
		return tool.Result{}, err
	}
	out, items := formatResult(res)
	meta := map[string]any{}
	if len(items) > 0 {
		meta["content"] = items
	}
	if res.IsError {
		if out == "" {
			out = "the tool reported an error"
		}
		return tool.Result{Metadata: meta}, errors.New(out)
	}
	return tool.Result{Output: out, Metadata: meta}, nil
}

// call runs one tool call, bounded by CallTimeout.
func (s *server) call(ctx context.Context, name string, args map[string]any) (*sdk.CallToolResult, error) {
	if !s.wait(ctx) {
		if err := ctx.Err(); err != nil {
			return nil, context.Cause(ctx)
		}
		s.mu.Lock()
		msg := s.err
		s.mu.Unlock()
		return nil, fmt.Errorf("MCP server %s is not connected: %s", s.name, msg)
	}
	s.mu.Lock()
	cs := s.cs
	s.mu.Unlock()
	if cs == nil {
		return nil, fmt.Errorf("MCP server %s is not connected", s.name)
	}
	cctx, cancel := context.WithTimeout(ctx, s.m.opts.CallTimeout)
	defer cancel()
	res, err := cs.CallTool(cctx, &sdk.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		if cctx.Err() != nil {
			return nil, fmt.Errorf("MCP server %s did not answer %s within %s", s.name, name, s.m.opts.CallTimeout)
		}
		return nil, fmt.Errorf("MCP server %s: %s: %w", s.name, name, err)
	}
	return res, nil
}

// formatResult renders a result's content for the model and lists the
// non-text items.
func formatResult(res *sdk.CallToolResult) (string, []map[string]any) {
	var parts []string
	var items []map[string]any
	for _, c := range res.Content {
		switch c := c.(type) {
		case *sdk.TextContent:
			parts = append(parts, c.Text)
		case *sdk.ImageContent:
			parts = append(parts, fmt.Sprintf("[image %s, %d bytes]", c.MIMEType, len(c.Data)))
			items = append(items, map[string]any{"type": "image", "mimeType": c.MIMEType, "size": len(c.Data)})
		case *sdk.AudioContent:
			parts = append(parts, fmt.Sprintf("[audio %s, %d bytes]", c.MIMEType, len(c.Data)))
			items = append(items, map[string]any{"type": "audio", "mimeType": c.MIMEType, "size": len(c.Data)})
		case *sdk.ResourceLink:
			parts = append(parts, fmt.Sprintf("[resource %s: %s]", c.Name, c.URI))
			items = append(items, map[string]any{"type": "resource_link", "uri": c.URI, "name": c.Name, "mimeType": c.MIMEType})
		case *sdk.EmbeddedResource:
			r := c.Resource
			if r == nil {
				continue
			}
			item := map[string]any{"type": "resource", "uri": r.URI, "mimeType": r.MIMEType}
			if r.Blob != nil {
				parts = append(parts, fmt.Sprintf("[resource %s, %s, %d bytes]", r.URI, r.MIMEType, len(r.Blob)))
				item["size"] = len(r.Blob)
			} else {
				parts = append(parts, r.Text)
			}
			items = append(items, item)
		}
	}
	if len(parts) == 0 && res.StructuredContent != nil {
		if b, err := json.Marshal(res.StructuredContent); err == nil {
			parts = append(parts, string(b))
		}
	}
	return strings.Join(parts, "\n\n"), items
}
