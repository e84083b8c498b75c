// Package event declares every event ocgo sends on GET /event: one struct
// per type, holding the event's properties, with its wire name. The core
// publishes these values as they are (bus.Publish) and /doc describes the
// same types (All), so what is sent and what is documented cannot drift
// apart.
package event

import "ocgo/storage"

// Typed is one event's properties; EventType is its "type" on the wire.
type Typed interface{ EventType() string }

// All lists one zero value of every event type, in /doc's order.
func All() []Typed {
	return []Typed{
		ServerConnected{}, SessionUpdated{}, SessionDeleted{}, SessionIdle{}, SessionError{},
		MessageUpdated{}, MessageRemoved{}, PartUpdated{}, PartRemoved{},
		PermissionUpdated{}, PermissionReplied{}, FileEdited{}, FileWatcherUpdated{}, StorageWrite{},
		LSPClientDiagnostics{},
	}
}

// ServerConnected is the first frame of every event stream.
type ServerConnected struct{}

// SessionUpdated: a session was created or changed.
type SessionUpdated struct {
	Info storage.Session `json:"info"`
}

// SessionDeleted: a session and everything stored for it are gone.
type SessionDeleted struct {
	Info storage.Session `json:"info"`
}

// SessionIdle: a session's prompt queue ran empty.
type SessionIdle struct {
	SessionID string `json:"sessionID"`
}

// SessionError: a prompt failed, or (without a session) a background part
// such as an MCP server did.
type SessionError struct {
	SessionID string                `json:"sessionID,omitempty"`
	Error     *storage.MessageError `json:"error,omitempty"`
}

// MessageUpdated: a message was written.
type MessageUpdated struct {
	Info storage.Message `json:"info"`
}

// MessageRemoved: a message was deleted (a reverted turn, on the next prompt).
type MessageRemoved struct {
	SessionID string `json:"sessionID"`
	MessageID string `json:"messageID"`
}

// PartUpdated: a part was written.
type PartUpdated struct {
	Part storage.Part `json:"part"`
}

// PartRemoved: a part was deleted.
type PartRemoved struct {
	SessionID string `json:"sessionID"`
	MessageID string `json:"messageID"`
	PartID    string `json:"partID"`
}

// PermissionUpdated: a tool waits for the user's answer; the properties are
// the permission itself.
type PermissionUpdated storage.Permission

// PermissionReplied: a permission was answered (once, always or reject).
type PermissionReplied struct {
	SessionID    string `json:"sessionID"`
	PermissionID string `json:"permissionID"`
	Response     string `json:"response"`
}

// FileEdited: a tool wrote a file (absolute path).
type FileEdited struct {
	File string `json:"file"`
}

// FileWatcherUpdated: the watcher saw a file change on disk (absolute path;
// event "change" or "rename").
type FileWatcherUpdated struct {
	File  string `json:"file"`
	Event string `json:"event"`
}

// LSPClientDiagnostics: a language server published diagnostics for a
// file (absolute path).
type LSPClientDiagnostics struct {
	ServerID string `json:"serverID"`
	Path     string `json:"path"`
}

// StorageWrite is opencode's per-write event; ocgo sends it only as the
// stream's keep-alive frame, with Key "heartbeat".
type StorageWrite struct {
	Key     string   `json:"key"`
	Content struct{} `json:"content"`
}

func (ServerConnected) EventType() string      { return "server.connected" }
func (SessionUpdated) EventType() string       { return "session.updated" }
func (SessionDeleted) EventType() string       { return "session.deleted" }
func (SessionIdle) EventType() string          { return "session.idle" }
func (SessionError) EventType() string         { return "session.error" }
func (MessageUpdated) EventType() string       { return "message.updated" }
func (MessageRemoved) EventType() string       { return "message.removed" }
func (PartUpdated) EventType() string          { return "message.part.updated" }
func (PartRemoved) EventType() string          { return "message.part.removed" }
func (PermissionUpdated) EventType() string    { return "permission.updated" }
func (PermissionReplied) EventType() string    { return "permission.replied" }
func (FileEdited) EventType() string           { return "file.edited" }
func (FileWatcherUpdated) EventType() string   { return "file.watcher.updated" }
func (StorageWrite) EventType() string         { return "storage.write" }
func (LSPClientDiagnostics) EventType() string { return "lsp.client.diagnostics" }
