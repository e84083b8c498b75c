package routes

import (
	"net/http"

	"strings"

	"github.com/julienschmidt/httprouter"

	"ocgo/session"
	"ocgo/storage"
)

type createBody struct {
	ParentID string `json:"parentID,omitempty"`
	Title    string `json:"title,omitempty"`
}

type updateBody struct {
	Title *string `json:"title,omitempty"`
}

func (b *updateBody) validate() error {
	if b.Title != nil && strings.TrimSpace(*b.Title) == "" {
		return badRequest("title", "title must not be empty")
	}
	return nil
}

type shellBody struct {
	Agent   string `json:"agent"`
	Command string `json:"command"`
}

func (b *shellBody) validate() error {
	if strings.TrimSpace(b.Command) == "" {
		return badRequest("command", "command is required")
	}
	if b.Agent == "" {
		return badRequest("agent", "agent is required")
	}
	return nil
}

func (s *Server) sessionList(*http.Request, httprouter.Params) (any, error) {
	return rawJSON(s.opts.Sessions.ListJSON()), nil
}

func (s *Server) sessionGet(_ *http.Request, p httprouter.Params) (any, error) {
	return s.opts.Sessions.Get(p.ByName("id"))
}

func (s *Server) sessionChildren(_ *http.Request, p httprouter.Params) (any, error) {
	return s.opts.Sessions.Children(p.ByName("id"))
}

func (s *Server) sessionCreate(r *http.Request, _ httprouter.Params, b *createBody) (any, error) {
	sess, err := s.opts.Sessions.Create(r.Context(), b.ParentID, b.Title)
	if err == nil && b.ParentID == "" && s.opts.Sessions.ShareMode() == "auto" {
		return s.opts.Sessions.Share(sess.ID, shareBase(r))
	}
	return sess, err
}

func (s *Server) sessionDelete(_ *http.Request, p httprouter.Params) (any, error) {
	if err := s.opts.Sessions.Delete(p.ByName("id")); err != nil {
		return nil, err
	}
	return true, nil
}

func (s *Server) sessionUpdate(r *http.Request, p httprouter.Params, b *updateBody) (any, error) {
	return s.opts.Sessions.Update(p.ByName("id"), func(sess *storage.Session) {
		if b.Title != nil {
			sess.Title = *b.Title
		}
	})
}

func (s *Server) sessionAbort(_ *http.Request, p httprouter.Params) (any, error) {
	if _, err := s.opts.Sessions.Get(p.ByName("id")); err != nil {
		return nil, err
	}
	return s.opts.Sessions.Abort(p.ByName("id")), nil
}

func (s *Server) sessionMessages(_ *http.Request, p httprouter.Params) (any, error) {
	return s.opts.Sessions.Messages(p.ByName("id"))
}

func (s *Server) sessionMessage(_ *http.Request, p httprouter.Params) (any, error) {
	return s.opts.Sessions.Message(p.ByName("id"), p.ByName("messageID"))
}

func (s *Server) sessionShell(r *http.Request, p httprouter.Params, b *shellBody) (any, error) {
	return s.opts.Sessions.Shell(r.Context(), p.ByName("id"), b.Agent, b.Command)
}

type permissionBody struct {
	Response string `json:"response"`
}

func (b *permissionBody) validate() error {
	switch b.Response {
	case "once", "always", "reject":
		return nil
	}
	return badRequest("response", "response must be one of once, always, reject")
}

func (s *Server) permissionRespond(r *http.Request, p httprouter.Params, b *permissionBody) (any, error) {
	if _, err := s.opts.Sessions.Get(p.ByName("id")); err != nil {
		return nil, err
	}
	if err := s.opts.Sessions.Respond(p.ByName("id"), p.ByName("permissionID"), b.Response); err != nil {
		return nil, err
	}
	return true, nil
}

func (s *Server) permissionList(_ *http.Request, p httprouter.Params) (any, error) {
	if _, err := s.opts.Sessions.Get(p.ByName("id")); err != nil {
		return nil, err
	}
	return s.opts.Sessions.Pending(p.ByName("id")), nil
}

func (s *Server) sessionChat(r *http.Request, p httprouter.Params, in *session.PromptInput) (any, error) {
	return s.opts.Sessions.Prompt(r.Context(), p.ByName("id"), *in)
}

func (s *Server) sessionCommand(r *http.Request, p httprouter.Params, in *session.CommandInput) (any, error) {
	return s.opts.Sessions.Command(r.Context(), p.ByName("id"), *in)
}

type summarizeBody struct {
	ProviderID string `json:"providerID"`
	ModelID    string `json:"modelID"`
}

func (b *summarizeBody) validate() error {
	if b.ProviderID == "" {
		return badRequest("providerID", "providerID is required")
	}
	if b.ModelID == "" {
		return badRequest("modelID", "modelID is required")
	}
	return nil
}

func (s *Server) sessionSummarize(r *http.Request, p httprouter.Params, b *summarizeBody) (any, error) {
	res, err := s.opts.Sessions.Summarize(r.Context(), p.ByName("id"), b.ProviderID, b.ModelID)
	if err != nil {
		return nil, err
	}
	if res.Info.Error != nil {
		return nil, &apiError{Status: http.StatusBadGateway, Name: res.Info.Error.Name, Data: res.Info.Error.Data}
	}
	return true, nil
}

type initBody struct {
	MessageID  string `json:"messageID"`
	ProviderID string `json:"providerID"`
	ModelID    string `json:"modelID"`
}

func (b *initBody) validate() error {
	if !storage.ValidID(storage.PrefixMessage, b.MessageID) {
		return badRequest("messageID", "messageID must start with \"msg_\"")
	}
	if b.ProviderID == "" || b.ModelID == "" {
		return badRequest("providerID", "providerID and modelID are required")
	}
	return nil
}

func (s *Server) sessionInit(r *http.Request, p httprouter.Params, b *initBody) (any, error) {
	if err := s.opts.Sessions.Init(r.Context(), p.ByName("id"), b.MessageID, b.ProviderID, b.ModelID, s.opts.InitApp); err != nil {
		return nil, err
	}
	return true, nil
}

type revertBody struct {
	MessageID string `json:"messageID"`
	PartID    string `json:"partID,omitempty"`
}

func (b *revertBody) validate() error {
	if !storage.ValidID(storage.PrefixMessage, b.MessageID) {
		return badRequest("messageID", "messageID must start with \"msg_\"")
	}
	if b.PartID != "" && !storage.ValidPartID(b.PartID) {
		return badRequest("partID", "partID must be 1-64 letters, digits, '_' or '-'")
	}
	return nil
}

func (s *Server) sessionRevert(r *http.Request, p httprouter.Params, b *revertBody) (any, error) {
	return s.opts.Sessions.Revert(r.Context(), p.ByName("id"), b.MessageID, b.PartID)
}

func (s *Server) sessionRevertPreview(r *http.Request, p httprouter.Params) (any, error) {
	q := r.URL.Query()
	b := revertBody{MessageID: q.Get("messageID"), PartID: q.Get("partID")}
	if err := b.validate(); err != nil {
		return nil, err
	}
	return s.opts.Sessions.PreviewRevert(r.Context(), p.ByName("id"), b.MessageID, b.PartID)
}

func (s *Server) sessionUnrevert(r *http.Request, p httprouter.Params) (any, error) {
	return s.opts.Sessions.Unrevert(r.Context(), p.ByName("id"))
}
