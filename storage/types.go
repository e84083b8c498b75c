package storage

import (
	"encoding/json"
)

// Session is the opencode 0.5.x session object, exactly as stored in
// session/info/<id>.json and returned by the API.
type Session struct {
	ID       string        `json:"id"`
	ParentID string        `json:"parentID,omitempty"`
	Share    *SessionShare `json:"share,omitempty"`
	Title    string        `json:"title"`
	Version  string        `json:"version"`
	Time     SessionTime   `json:"time"`
	Revert   *Revert       `json:"revert,omitempty"`
}

// SessionShare is present only while a session is shared.
type SessionShare struct {
	URL string `json:"url"`
}

// SessionTime holds epoch milliseconds.
type SessionTime struct {
	Created int64 `json:"created"`
	Updated int64 `json:"updated"`
}

// Revert records a session's revert point (see the revert flow in session/).
type Revert struct {
	MessageID string `json:"messageID"`
	PartID    string `json:"partID,omitempty"`
	Snapshot  string `json:"snapshot,omitempty"`
	Diff      string `json:"diff"` // "" when nothing changed, as opencode sends it
	// Dirs are the directories the agent's calls made that are absent
	// while the revert is in effect (ocgo's addition; root-relative
	// bytes): one found again at the next revert, redo or unrevert was
	// made by someone else, and no call's record counts it any more.
	Dirs [][]byte `json:"dirs,omitempty"`
}

// Message roles.
const (
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// Message is the union of opencode's UserMessage and AssistantMessage, held
// flat in Go. MarshalJSON writes only the fields of its role, so a user
// message never carries assistant fields and an assistant message always
// carries its required ones (system, cost, tokens, …) even when zero.
type Message struct {
	ID         string        `json:"id"`
	SessionID  string        `json:"sessionID"`
	Role       string        `json:"role"`
	Time       MessageTime   `json:"time"`
	Error      *MessageError `json:"error,omitempty"`
	System     []string      `json:"system,omitempty"`
	ModelID    string        `json:"modelID,omitempty"`
	ProviderID string        `json:"providerID,omitempty"`
	Mode       string        `json:"mode,omitempty"`
	Path       *MessagePath  `json:"path,omitempty"`
	Summary    bool          `json:"summary,omitempty"`
	Cost       float64       `json:"cost,omitempty"`
	Tokens     *Tokens       `json:"tokens,omitempty"`
}

// MessageTime holds epoch milliseconds; Completed is set on assistant
// messages when their run ends.
type MessageTime struct {
	Created   int64  `json:"created"`
	Completed *int64 `json:"completed,omitempty"`
}

// MessagePath is where an assistant message ran.
type MessagePath struct {
	Cwd  string `json:"cwd"`
	Root string `json:"root"`
}

// MessageError is the assistant error union: ProviderAuthError,
// UnknownError, MessageOutputLengthError, MessageAbortedError.
type MessageError struct {
	Name string         `json:"name"`
	Data map[string]any `json:"data"`
}

// Tokens is token usage in opencode's shape.
type Tokens struct {
	Input     int64      `json:"input"`
	Output    int64      `json:"output"`
	Reasoning int64      `json:"reasoning"`
	Cache     TokenCache `json:"cache"`
}

// TokenCache is cached-token usage.
type TokenCache struct {
	Read  int64 `json:"read"`
	Write int64 `json:"write"`
}

type userMessageJSON struct {
	ID        string `json:"id"`
	SessionID string `json:"sessionID"`
	Role      string `json:"role"`
	Time      struct {
		Created int64 `json:"created"`
	} `json:"time"`
}

type assistantMessageJSON struct {
	ID         string        `json:"id"`
	SessionID  string        `json:"sessionID"`
	Role       string        `json:"role"`
	Time       MessageTime   `json:"time"`
	Error      *MessageError `json:"error,omitempty"`
	System     []string      `json:"system"`
	ModelID    string        `json:"modelID"`
	ProviderID string        `json:"providerID"`
	Mode       string        `json:"mode"`
	Path       MessagePath   `json:"path"`
	Summary    bool          `json:"summary,omitempty"`
	Cost       float64       `json:"cost"`
	Tokens     Tokens        `json:"tokens"`
}

// MarshalJSON writes the role's variant only.
func (m Message) MarshalJSON() ([]byte, error) {
	if m.Role == RoleUser {
		u := userMessageJSON{ID: m.ID, SessionID: m.SessionID, Role: m.Role}
		u.Time.Created = m.Time.Created
		return json.Marshal(u)
	}
	a := assistantMessageJSON{
		ID: m.ID, SessionID: m.SessionID, Role: m.Role, Time: m.Time, Error: m.Error,
		System: m.System, ModelID: m.ModelID, ProviderID: m.ProviderID, Mode: m.Mode,
		Summary: m.Summary, Cost: m.Cost,
	}
	if a.System == nil {
		a.System = []string{}
	}
	if m.Path != nil {
		a.Path = *m.Path
	}
	if m.Tokens != nil {
		a.Tokens = *m.Tokens
	}
	return json.Marshal(a)
}

// Part types.
const (
	PartText       = "text"
	PartReasoning  = "reasoning"
	PartFile       = "file"
	PartTool       = "tool"
	PartStepStart  = "step-start"
	PartStepFinish = "step-finish"
	PartSnapshot   = "snapshot"
	PartPatch      = "patch"
	PartAgent      = "agent"
)

// Part is the union of opencode's message parts, held flat in Go.
// MarshalJSON writes only the fields of its type.
type Part struct {
	ID        string `json:"id"`
	SessionID string `json:"sessionID"`
	MessageID string `json:"messageID"`
	Type      string `json:"type"`

	// text, reasoning
	Text      string         `json:"text,omitempty"`
	Synthetic bool           `json:"synthetic,omitempty"`
	Time      *PartTime      `json:"time,omitempty"`
	Metadata  map[string]any `json:"metadata,omitempty"`

	// file
	Mime     string `json:"mime,omitempty"`
	Filename string `json:"filename,omitempty"`
	URL      string `json:"url,omitempty"`
	// Source is a FilePartSource (file) or an agent mention span (agent);
	// kept as raw JSON because the two shapes differ.
	Source json.RawMessage `json:"source,omitempty"`

	// tool
	CallID string     `json:"callID,omitempty"`
	Tool   string     `json:"tool,omitempty"`
	State  *ToolState `json:"state,omitempty"`

	// step-finish
	Cost   float64 `json:"cost,omitempty"`
	Tokens *Tokens `json:"tokens,omitempty"`

	// snapshot
	Snapshot string `json:"snapshot,omitempty"`

	// patch
	Hash  string   `json:"hash,omitempty"`
	Files []string `json:"files,omitempty"`
	// After is the tree right after the change (ocgo's addition to the
	// patch part): revert compares it with the files on disk to spot edits
	// made since, instead of silently discarding them.
	After string `json:"after,omitempty"`
	// Dirs are the directories the change created (ocgo's addition),
	// relative to the project root, as bytes (base64 in JSON: names need
	// not be UTF-8): a revert removes one of them once it has emptied it,
	// and no other directory.
	Dirs [][]byte `json:"dirs,omitempty"`

	// agent
	Name string `json:"name,omitempty"`
}

// PartTime is a text/reasoning streaming window in epoch milliseconds.
type PartTime struct {
	Start int64  `json:"start"`
	End   *int64 `json:"end,omitempty"`
}

// Tool states.
const (
	ToolPending   = "pending"
	ToolRunning   = "running"
	ToolCompleted = "completed"
	ToolError     = "error"
)

// ToolState is the union of a tool part's states, held flat in Go.
type ToolState struct {
	Status   string          `json:"status"`
	Input    json.RawMessage `json:"input,omitempty"`
	Output   string          `json:"output,omitempty"`
	Title    string          `json:"title,omitempty"`
	Error    string          `json:"error,omitempty"`
	Metadata map[string]any  `json:"metadata,omitempty"`
	Time     *ToolTime       `json:"time,omitempty"`
}

// ToolTime is a tool call's running window in epoch milliseconds.
type ToolTime struct {
	Start int64 `json:"start"`
	End   int64 `json:"end,omitempty"`
}

type partBase struct {
	ID        string `json:"id"`
	SessionID string `json:"sessionID"`
	MessageID string `json:"messageID"`
	Type      string `json:"type"`
}

// MarshalJSON writes the part type's variant only.
func (p Part) MarshalJSON() ([]byte, error) {
	b := partBase{p.ID, p.SessionID, p.MessageID, p.Type}
	switch p.Type {
	case PartText:
		return json.Marshal(struct {
			partBase
			Text      string    `json:"text"`
			Synthetic bool      `json:"synthetic,omitempty"`
			Time      *PartTime `json:"time,omitempty"`
		}{b, p.Text, p.Synthetic, p.Time})
	case PartReasoning:
		t := PartTime{}
		if p.Time != nil {
			t = *p.Time
		}
		return json.Marshal(struct {
			partBase
			Text     string         `json:"text"`
			Metadata map[string]any `json:"metadata,omitempty"`
			Time     PartTime       `json:"time"`
		}{b, p.Text, p.Metadata, t})
	case PartFile:
		return json.Marshal(struct {
			partBase
			Mime     string          `json:"mime"`
			Filename string          `json:"filename,omitempty"`
			URL      string          `json:"url"`
			Source   json.RawMessage `json:"source,omitempty"`
		}{b, p.Mime, p.Filename, p.URL, p.Source})
	case PartTool:
		st := ToolState{Status: ToolPending}
		if p.State != nil {
			st = *p.State
		}
		return json.Marshal(struct {
			partBase
			CallID string    `json:"callID"`
			Tool   string    `json:"tool"`
			State  ToolState `json:"state"`
		}{b, p.CallID, p.Tool, st})
	case PartStepStart:
		return json.Marshal(b)
	case PartStepFinish:
		t := Tokens{}
		if p.Tokens != nil {
			t = *p.Tokens
		}
		return json.Marshal(struct {
			partBase
			Cost   float64 `json:"cost"`
			Tokens Tokens  `json:"tokens"`
		}{b, p.Cost, t})
	case PartSnapshot:
		return json.Marshal(struct {
			partBase
			Snapshot string `json:"snapshot"`
		}{b, p.Snapshot})
	case PartPatch:
		files := p.Files
		if files == nil {
			files = []string{}
		}
		return json.Marshal(struct {
			partBase
			Hash  string   `json:"hash"`
			Files []string `json:"files"`
			After string   `json:"after,omitempty"`
			Dirs  [][]byte `json:"dirs,omitempty"`
		}{b, p.Hash, files, p.After, p.Dirs})
	case PartAgent:
		return json.Marshal(struct {
			partBase
			Name   string          `json:"name"`
			Source json.RawMessage `json:"source,omitempty"`
		}{b, p.Name, p.Source})
	}
	type plain Part // unknown types: every non-empty field, no recursion
	return json.Marshal(plain(p))
}

// MarshalJSON writes the status's variant only.
func (s ToolState) MarshalJSON() ([]byte, error) {
	input := s.Input
	if len(input) == 0 {
		input = json.RawMessage("{}")
	}
	meta := s.Metadata
	if meta == nil {
		meta = map[string]any{}
	}
	t := ToolTime{}
	if s.Time != nil {
		t = *s.Time
	}
	switch s.Status {
	case ToolPending:
		return json.Marshal(struct {
			Status string `json:"status"`
		}{s.Status})
	case ToolRunning:
		return json.Marshal(struct {
			Status   string          `json:"status"`
			Input    json.RawMessage `json:"input"`
			Title    string          `json:"title,omitempty"`
			Metadata map[string]any  `json:"metadata,omitempty"`
			Time     struct {
				Start int64 `json:"start"`
			} `json:"time"`
		}{Status: s.Status, Input: input, Title: s.Title, Metadata: s.Metadata, Time: struct {
			Start int64 `json:"start"`
		}{t.Start}})
	case ToolCompleted:
		return json.Marshal(struct {
			Status   string          `json:"status"`
			Input    json.RawMessage `json:"input"`
			Output   string          `json:"output"`
			Title    string          `json:"title"`
			Metadata map[string]any  `json:"metadata"`
			Time     ToolTime        `json:"time"`
		}{s.Status, input, s.Output, s.Title, meta, t})
	case ToolError:
		return json.Marshal(struct {
			Status   string          `json:"status"`
			Input    json.RawMessage `json:"input"`
			Error    string          `json:"error"`
			Metadata map[string]any  `json:"metadata,omitempty"`
			Time     ToolTime        `json:"time"`
		}{s.Status, input, s.Error, s.Metadata, t})
	}
	type plain ToolState
	return json.Marshal(plain(s))
}

// WithParts is a message with its parts, the shape of the message routes.
type WithParts struct {
	Info  Message `json:"info"`
	Parts []Part  `json:"parts"`
}

// Permission is a pending tool permission request.
type Permission struct {
	ID        string         `json:"id"`
	Type      string         `json:"type"`
	Pattern   string         `json:"pattern,omitempty"`
	SessionID string         `json:"sessionID"`
	MessageID string         `json:"messageID"`
	CallID    string         `json:"callID,omitempty"`
	Title     string         `json:"title"`
	Metadata  map[string]any `json:"metadata"`
	Time      struct {
		Created int64 `json:"created"`
	} `json:"time"`
}
