package lsp

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// client is one running language server for one root.
type client struct {
	id, root string
	pid      int // process group of the server
	conn     *conn
	on       func(serverID, path string)

	mu       sync.Mutex
	versions map[string]int             // path → version of the open document
	diags    map[string][]Diagnostic    // path → last published
	waiters  map[string][]chan struct{} // path → touches waiting for a publish
	warm     bool                       // has published once (a new server loads the workspace first)
}

// settle is how long touch keeps listening after the first publish: gopls
// and others publish in stages (syntax, then types).
const settle = 300 * time.Millisecond

// touch opens or updates the document and waits for its diagnostics.
func (c *client) touch(ctx context.Context, path, text string, wait time.Duration) {
	ch := make(chan struct{}, 16)
	c.mu.Lock()
	c.waiters[path] = append(c.waiters[path], ch)
	v, open := c.versions[path]
	c.versions[path] = v + 1
	if !c.warm {
		wait *= 3
	}
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.waiters[path] = slices.DeleteFunc(c.waiters[path], func(x chan struct{}) bool { return x == ch })
		c.mu.Unlock()
	}()
	uri := fileURI(path)
	var err error
	if !open {
		err = c.conn.notify("textDocument/didOpen", map[string]any{"textDocument": map[string]any{
			"uri": uri, "languageId": languageID(path), "version": 0, "text": text,
		}})
	} else {
		err = c.conn.notify("textDocument/didChange", map[string]any{
			"textDocument":   map[string]any{"uri": uri, "version": v + 1},
			"contentChanges": []map[string]any{{"text": text}},
		})
		if err == nil {
			_ = c.conn.notify("textDocument/didSave", map[string]any{"textDocument": map[string]any{"uri": uri}, "text": text})
		}
	}
	if err != nil {
		return
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	var quiet <-chan time.Time
	for {
		select {
		case <-ch:
			quiet = time.After(settle)
		case <-quiet:
			return
		case <-deadline.C:
			return
		case <-ctx.Done():
			return
		case <-c.conn.done:
			return
		}
	}
}

func (c *client) diagnostics(path string) []Diagnostic {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.diags[path])
}

// notification handles what the server sends unasked.
func (c *client) notification(method string, params json.RawMessage) {
	if method != "textDocument/publishDiagnostics" {
		return
	}
	var p struct {
		URI         string       `json:"uri"`
		Diagnostics []Diagnostic `json:"diagnostics"`
	}
	if json.Unmarshal(params, &p) != nil {
		return
	}
	path := pathOf(p.URI)
	if path == "" {
		return
	}
	c.mu.Lock()
	c.warm = true
	c.diags[path] = p.Diagnostics
	for _, ch := range c.waiters[path] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	c.mu.Unlock()
	if c.on != nil {
		c.on(c.id, path)
	}
}

// request answers the server's requests: its configuration (the
// "initialization" options for every section asked), the workspace
// folder, and null for the rest (progress tokens, registrations).
func (c *client) request(method string, params json.RawMessage, init map[string]any) any {
	switch method {
	case "workspace/configuration":
		var p struct {
			Items []json.RawMessage `json:"items"`
		}
		_ = json.Unmarshal(params, &p)
		out := make([]any, len(p.Items))
		for i := range out {
			out[i] = init
		}
		return out
	case "workspace/workspaceFolders":
		return []map[string]string{{"uri": fileURI(c.root), "name": filepath.Base(c.root)}}
	}
	return nil
}

// shutdown asks the server to stop, then kills what is left.
func (c *client) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	if c.conn.call(ctx, "shutdown", nil, nil) == nil {
		_ = c.conn.notify("exit", nil)
	}
	cancel()
	select {
	case <-c.conn.done:
	case <-time.After(500 * time.Millisecond):
	}
	c.kill()
}

// kill ends the server's process group and its pipes.
func (c *client) kill() {
	if c.pid > 0 {
		_ = syscall.Kill(-c.pid, syscall.SIGKILL)
	}
	_ = c.conn.w.Close()
}

// languageID is the LSP language id for a file.
func languageID(path string) string {
	ext := strings.ToLower(filepath.Ext(path))
	switch ext {
	case ".go":
		return "go"
	case ".ts", ".mts", ".cts":
		return "typescript"
	case ".tsx":
		return "typescriptreact"
	case ".js", ".mjs", ".cjs":
		return "javascript"
	case ".jsx":
		return "javascriptreact"
	case ".py", ".pyi":
		return "python"
	case ".rs":
		return "rust"
	case ".c", ".h":
		return "c"
	case ".cc", ".cpp", ".cxx", ".hh", ".hpp", ".hxx":
		return "cpp"
	case ".rb", ".rake", ".gemspec", ".ru":
		return "ruby"
	case ".zig", ".zon":
		return "zig"
	}
	return strings.TrimPrefix(ext, ".")
}
