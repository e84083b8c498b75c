package routes

// Routes from later opencode versions (0.6, 1.x), with their request and
// response shapes, and the session export/import of `ocgo export/import`.

import (
	"net/http"

	"github.com/julienschmidt/httprouter"

	"ocgo/session"
	"ocgo/storage"
)

type forkBody struct {
	MessageID string `json:"messageID,omitempty"`
}

func (b *forkBody) validate() error {
	if b.MessageID != "" && !storage.ValidID(storage.PrefixMessage, b.MessageID) {
		return badRequest("messageID", "messageID must start with \"msg_\"")
	}
	return nil
}

func (s *Server) sessionFork(r *http.Request, p httprouter.Params, b *forkBody) (any, error) {
	return s.opts.Sessions.Fork(r.Context(), p.ByName("id"), b.MessageID)
}

func (s *Server) sessionDiff(r *http.Request, p httprouter.Params) (any, error) {
	mid := r.URL.Query().Get("messageID")
	if mid != "" && !storage.ValidID(storage.PrefixMessage, mid) {
		return nil, badRequest("messageID", "messageID must start with \"msg_\"")
	}
	return s.opts.Sessions.Diff(r.Context(), p.ByName("id"), mid)
}

func (s *Server) sessionTodo(_ *http.Request, p httprouter.Params) (any, error) {
	return s.opts.Sessions.Todos(p.ByName("id"))
}

func (s *Server) sessionStatus(*http.Request, httprouter.Params) (any, error) {
	return s.opts.Sessions.Statuses(), nil
}

// promptAsyncBody is the 0.5 prompt input, or the later one that nests
// the model as {model: {providerID, modelID}}.
type promptAsyncBody struct {
	session.PromptInput
	Model *struct {
		ProviderID string `json:"providerID"`
		ModelID    string `json:"modelID"`
	} `json:"model,omitempty"`
}

func (s *Server) sessionPromptAsync(r *http.Request, p httprouter.Params, b *promptAsyncBody) (any, error) {
	in := b.PromptInput
	if b.Model != nil && in.ProviderID == "" && in.ModelID == "" {
		in.ProviderID, in.ModelID = b.Model.ProviderID, b.Model.ModelID
	}
	return nil, s.opts.Sessions.PromptAsync(r.Context(), p.ByName("id"), in)
}

func (s *Server) sessionExport(r *http.Request, p httprouter.Params) (any, error) {
	return s.opts.Sessions.Export(r.Context(), p.ByName("id"))
}

func (s *Server) sessionImport(r *http.Request, _ httprouter.Params, doc *session.Export) (any, error) {
	newIDs := false
	switch r.URL.Query().Get("newIDs") {
	case "", "false":
	case "true":
		newIDs = true
	default:
		return nil, badRequest("newIDs", "newIDs must be true or false")
	}
	return s.opts.Sessions.Import(r.Context(), *doc, newIDs)
}
