package routes

import (
	"encoding/json"
	"reflect"

	"ocgo/config"
	"ocgo/mcp"
	"ocgo/provider"
	"ocgo/search"
	"ocgo/session"
	"ocgo/snapshot"
	"ocgo/storage"
	"ocgo/tool"
)

func typeOf[T any]() reflect.Type { return reflect.TypeFor[T]() }

// table lists every route of opencode 0.5.29, in its registration order.
func (s *Server) table() []route {
	type sessions = []storage.Session
	return []route{
		{method: "GET", path: "/doc", id: "doc", summary: "OpenAPI document", handle: s.doc, resp: typeOf[map[string]any]()},
		{method: "GET", path: "/event", id: "event.subscribe", summary: "Server-sent events", stream: s.events},
		{method: "GET", path: "/app", id: "app.get", summary: "Project and server info", handle: s.appGet, resp: typeOf[App]()},
		{method: "POST", path: "/app/init", id: "app.init", summary: "Mark the app initialized", handle: s.appInit, resp: typeOf[bool]()},
		{method: "GET", path: "/config", id: "config.get", summary: "Merged configuration (secrets redacted)", handle: s.configGet, resp: typeOf[config.Document]()},
		{method: "GET", path: "/session", id: "session.list", summary: "List sessions", handle: s.sessionList, resp: typeOf[sessions]()},
		{method: "GET", path: "/session/:id", id: "session.get", summary: "Get a session", handle: s.sessionGet, resp: typeOf[storage.Session]()},
		{method: "GET", path: "/session/:id/children", id: "session.children", summary: "Child sessions", handle: s.sessionChildren, resp: typeOf[sessions]()},
		{method: "POST", path: "/session", id: "session.create", summary: "Create a session", in: takes(s.sessionCreate), bodyOptional: true, resp: typeOf[storage.Session]()},
		{method: "DELETE", path: "/session/:id", id: "session.delete", summary: "Delete a session with its children, messages and parts", handle: s.sessionDelete, resp: typeOf[bool]()},
		{method: "PATCH", path: "/session/:id", id: "session.update", summary: "Update a session", in: takes(s.sessionUpdate), bodyOptional: true, resp: typeOf[storage.Session]()},
		{method: "POST", path: "/session/:id/init", id: "session.init", summary: "Analyze the project and write AGENTS.md", in: takes(s.sessionInit), resp: typeOf[bool]()},
		{method: "POST", path: "/session/:id/abort", id: "session.abort", summary: "Abort the running prompt, shell or summary", handle: s.sessionAbort, resp: typeOf[bool]()},
		{method: "POST", path: "/session/:id/share", id: "session.share", summary: "Share a session on this server: share.url is /share/<token>", handle: s.sessionShare, resp: typeOf[storage.Session]()},
		{method: "DELETE", path: "/session/:id/share", id: "session.unshare", summary: "Revoke a session's share URL", handle: s.sessionUnshare, resp: typeOf[storage.Session]()},
		{method: "POST", path: "/session/:id/summarize", id: "session.summarize", summary: "Summarize (compact) a session", in: takes(s.sessionSummarize), resp: typeOf[bool]()},
		{method: "GET", path: "/session/:id/message", id: "session.messages", summary: "Messages of a session", handle: s.sessionMessages, resp: typeOf[[]storage.WithParts]()},
		{method: "GET", path: "/session/:id/message/:messageID", id: "session.message", summary: "One message", handle: s.sessionMessage, resp: typeOf[storage.WithParts]()},
		{method: "POST", path: "/session/:id/message", id: "session.chat", summary: "Send a prompt and run the agent", in: takes(s.sessionChat), resp: typeOf[storage.WithParts](), bodyLimit: promptBodyLimit},
		{method: "POST", path: "/session/:id/command", id: "session.command", summary: "Run a slash command", in: takes(s.sessionCommand), resp: typeOf[storage.WithParts](), bodyLimit: promptBodyLimit},
		{method: "POST", path: "/session/:id/shell", id: "session.shell", summary: "Run a shell command", in: takes(s.sessionShell), resp: typeOf[storage.WithParts]()},
		{method: "POST", path: "/session/:id/revert", id: "session.revert", summary: "Revert the files and conversation to a message or part", in: takes(s.sessionRevert), resp: typeOf[storage.Session]()},
		{method: "GET", path: "/session/:id/revert", id: "session.revert.preview", summary: "Preview a revert: the files, the diff and the conflicts, changing nothing (ocgo addition)", query: []string{"messageID"}, optQuery: []string{"partID"}, handle: s.sessionRevertPreview, resp: typeOf[session.RevertPreview]()},
		{method: "POST", path: "/session/:id/unrevert", id: "session.unrevert", summary: "Undo a revert", handle: s.sessionUnrevert, bodyOptional: true, resp: typeOf[storage.Session]()},
		{method: "POST", path: "/session/:id/permissions/:permissionID", id: "session.permissions.respond", summary: "Answer a permission request", in: takes(s.permissionRespond), resp: typeOf[bool]()},
		{method: "GET", path: "/session/:id/permissions", id: "session.permissions.list", summary: "Pending permission requests of a session (ocgo)", handle: s.permissionList, resp: typeOf[[]storage.Permission]()},
		// Later opencode versions' session routes, and export/import.
		{method: "GET", path: "/session/status", id: "session.status", summary: "Sessions that are not idle: id → {type: busy} (later opencode versions)", handle: s.sessionStatus, resp: typeOf[map[string]session.Status](), exact: true},
		{method: "POST", path: "/session/:id/fork", id: "session.fork", summary: "Copy a session up to a message into a new one (later opencode versions)", in: takes(s.sessionFork), bodyOptional: true, resp: typeOf[storage.Session]()},
		{method: "GET", path: "/session/:id/diff", id: "session.diff", summary: "Files a message (or the session) changed, before and after (later opencode versions)", optQuery: []string{"messageID"}, handle: s.sessionDiff, resp: typeOf[[]snapshot.FileDiff]()},
		{method: "GET", path: "/session/:id/todo", id: "session.todo", summary: "The session's todo list (later opencode versions)", handle: s.sessionTodo, resp: typeOf[[]tool.Todo]()},
		{method: "POST", path: "/session/:id/prompt_async", id: "session.prompt_async", summary: "Send a prompt and answer 204 at once; the reply follows on /event (later opencode versions)", in: takes(s.sessionPromptAsync), noContent: true},
		{method: "GET", path: "/session/:id/export", id: "session.export", summary: "The session as one document, with the snapshot objects its patches need (ocgo)", handle: s.sessionExport, resp: typeOf[session.Export]()},
		{method: "POST", path: "/session/import", id: "session.import", summary: "Store an exported session under its IDs (409 if it exists) or, with ?newIDs=true, new ones (ocgo)", optQuery: []string{"newIDs"}, in: takes(s.sessionImport), resp: typeOf[storage.Session](), exact: true, bodyLimit: promptBodyLimit},
		// The local share page (routes/share.go).
		{method: "GET", path: "/share/:token", id: "share.page", summary: "The read-only page of a shared session (HTML)", raw: s.sharePageGet, produces: "text/html"},
		{method: "GET", path: "/share/:token/data", id: "share.data", summary: "What the share page shows: session, messages, patch diffs", raw: s.shareDataGet, resp: typeOf[shareData]()},
		{method: "GET", path: "/share/:token/event", id: "share.event", summary: "A {type} frame per change of the shared session", raw: s.shareEventGet, produces: "text/event-stream"},
		{method: "GET", path: "/command", id: "command.list", summary: "Slash commands", handle: s.commandList, resp: typeOf[[]config.Command]()},
		{method: "GET", path: "/config/providers", id: "config.providers", summary: "Active providers and default models", handle: s.configProviders, resp: typeOf[provider.Listing]()},
		{method: "GET", path: "/find", id: "find.text", summary: "Search file contents (ripgrep match objects)", query: []string{"pattern"}, handle: s.findText, resp: typeOf[[]search.Match]()},
		{method: "GET", path: "/find/file", id: "find.files", summary: "Find files by name (fuzzy)", query: []string{"query"}, handle: s.findFiles, resp: typeOf[[]string]()},
		{method: "GET", path: "/find/symbol", id: "find.symbols", summary: "Find workspace symbols", query: []string{"query"}, handle: s.findSymbols, resp: typeOf[[]search.Symbol]()},
		{method: "GET", path: "/file", id: "file.list", summary: "List a directory (FileNode[]) or read a file ({type, content})", query: []string{"path"}, handle: s.fileGet, respOneOf: []reflect.Type{typeOf[[]search.FileNode](), typeOf[search.Content]()}},
		{method: "GET", path: "/file/content", id: "file.read", summary: "Read a file", query: []string{"path"}, handle: s.fileContent, resp: typeOf[search.Content]()},
		{method: "GET", path: "/file/status", id: "file.status", summary: "Changed files against HEAD", handle: s.fileStatus, resp: typeOf[[]search.File]()},
		{method: "POST", path: "/log", id: "app.log", summary: "Write a client log entry", in: takes(s.logPost), resp: typeOf[bool]()},
		{method: "GET", path: "/agent", id: "app.agents", summary: "Agents", handle: s.agentList, resp: typeOf[[]config.Agent]()},
		{method: "GET", path: "/mcp", id: "mcp.status", summary: "MCP servers' status (later opencode versions)", handle: s.mcpStatus, resp: typeOf[map[string]mcp.ServerStatus]()},
		{method: "POST", path: "/tui/append-prompt", id: "tui.appendPrompt", summary: "Append text to the TUI prompt", in: reads[tuiAppendBody](s.tuiForward), resp: typeOf[bool]()},
		{method: "POST", path: "/tui/open-help", id: "tui.openHelp", summary: "Open the TUI help dialog", in: reads[json.RawMessage](s.tuiForward), bodyOptional: true, resp: typeOf[bool]()},
		{method: "POST", path: "/tui/open-sessions", id: "tui.openSessions", summary: "Open the TUI sessions dialog", in: reads[json.RawMessage](s.tuiForward), bodyOptional: true, resp: typeOf[bool]()},
		{method: "POST", path: "/tui/open-themes", id: "tui.openThemes", summary: "Open the TUI themes dialog", in: reads[json.RawMessage](s.tuiForward), bodyOptional: true, resp: typeOf[bool]()},
		{method: "POST", path: "/tui/open-models", id: "tui.openModels", summary: "Open the TUI models dialog", in: reads[json.RawMessage](s.tuiForward), bodyOptional: true, resp: typeOf[bool]()},
		{method: "POST", path: "/tui/submit-prompt", id: "tui.submitPrompt", summary: "Submit the TUI prompt", in: reads[json.RawMessage](s.tuiForward), bodyOptional: true, resp: typeOf[bool]()},
		{method: "POST", path: "/tui/clear-prompt", id: "tui.clearPrompt", summary: "Clear the TUI prompt", in: reads[json.RawMessage](s.tuiForward), bodyOptional: true, resp: typeOf[bool]()},
		{method: "POST", path: "/tui/execute-command", id: "tui.executeCommand", summary: "Run a TUI command", in: reads[tuiExecuteBody](s.tuiForward), resp: typeOf[bool]()},
		{method: "POST", path: "/tui/show-toast", id: "tui.showToast", summary: "Show a toast in the TUI", in: reads[tuiToastBody](s.tuiForward), resp: typeOf[bool]()},
		{method: "GET", path: "/tui/control/next", id: "tui.control.next", summary: "Next TUI request (long poll)", handle: s.tuiNext, resp: typeOf[tuiRequest](), sideEffect: true},
		{method: "POST", path: "/tui/control/response", id: "tui.control.response", summary: "Answer the current TUI request", in: reads[json.RawMessage](s.tuiResponse), bodyOptional: true, resp: typeOf[bool]()},
		{method: "PUT", path: "/auth/:id", id: "auth.set", summary: "Store provider credentials", in: reads[config.Auth](s.authSet), resp: typeOf[bool]()},
	}
}
