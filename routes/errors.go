package routes

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"syscall"

	"ocgo/config"
	"ocgo/provider"
	"ocgo/search"
	"ocgo/session"
	"ocgo/storage"
)

// apiError is an error that knows its HTTP answer. Every error a handler
// returns goes through writeError, the one place that turns errors into
// statuses, so clients always get opencode's {"name","data"} shape.
type apiError struct {
	Status int
	Name   string
	Data   map[string]any
}

func (e *apiError) Error() string { return fmt.Sprintf("%s: %v", e.Name, e.Data["message"]) }

func newError(status int, name, msg string) *apiError {
	return &apiError{Status: status, Name: name, Data: map[string]any{"message": msg}}
}

// badRequest is a validation error naming the offending field.
func badRequest(field, format string, args ...any) *apiError {
	e := newError(http.StatusBadRequest, "ValidationError", fmt.Sprintf(format, args...))
	if field != "" {
		e.Data["field"] = field
	}
	return e
}

// errNotBuilt answers a route whose optional dependency the server lacks.
var errNotBuilt = newError(http.StatusNotImplemented, "NotImplementedError", "this route is not available in this ocgo build")

// mapError chooses the status and body for err. The reasons:
//   - 404 for a missing session or message, not opencode's 400: a client can
//     then tell "gone" from "you sent something wrong".
//   - 409 for a busy session: the request was fine, the moment was not.
//   - 500 for anything unexpected, with the detail logged, not sent.
func (s *Server) mapError(err error) *apiError {
	var ae *apiError
	var mbe *http.MaxBytesError
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var authErr *config.AuthError
	var cfgErr *config.Error
	var conflict *session.ConflictError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &mbe):
		return newError(http.StatusRequestEntityTooLarge, "PayloadTooLargeError",
			fmt.Sprintf("request body is larger than %d bytes", mbe.Limit))
	case errors.As(err, &syn):
		return newError(http.StatusBadRequest, "ValidationError", "malformed JSON in request body: "+syn.Error())
	case errors.As(err, &typ):
		return badRequest(typ.Field, "field %q must be %s", typ.Field, typ.Type.String())
	case errors.Is(err, storage.ErrNotFound):
		return newError(http.StatusNotFound, "NotFoundError", s.scrub(err.Error()))
	case errors.Is(err, storage.ErrInvalid):
		return newError(http.StatusBadRequest, "ValidationError", s.scrub(err.Error()))
	case errors.Is(err, storage.ErrWrite), errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		// A full disk is the same answer whoever wrote (sessions, auth.json,
		// snapshots).
		return storageError(err)
	case errors.As(err, &conflict):
		return &apiError{Status: http.StatusConflict, Name: "ConflictError", Data: map[string]any{
			"message": "revert refused: " + conflict.Error(), "files": conflict.Files}}
	case errors.Is(err, session.ErrSnapshotLost):
		return newError(http.StatusInternalServerError, "SnapshotError", session.ErrSnapshotLost.Error())
	case errors.Is(err, session.ErrExists):
		return newError(http.StatusConflict, "ConflictError", s.scrub(err.Error()))
	case errors.Is(err, session.ErrBusy):
		return newError(http.StatusConflict, "BusyError", s.scrub(err.Error()))
	case errors.Is(err, search.ErrOutside):
		// The same answer whether or not the target exists: no oracle.
		return newError(http.StatusForbidden, "ForbiddenError", "path is outside the project")
	case errors.Is(err, search.ErrSpecial):
		return newError(http.StatusForbidden, "ForbiddenError", "not a regular file, or a file with several hard links")
	case errors.Is(err, search.ErrNotFound):
		return newError(http.StatusNotFound, "NotFoundError", "no such file or directory")
	case errors.Is(err, search.ErrInvalidPattern), errors.Is(err, search.ErrNotDir), errors.Is(err, search.ErrIsDir):
		return newError(http.StatusBadRequest, "ValidationError", s.scrub(err.Error()))
	case errors.Is(err, session.ErrModel):
		return modelError(err)
	case errors.As(err, &authErr):
		return badRequest(authErr.Field, "%s", authErr.Error())
	case errors.Is(err, config.ErrAuthID), errors.Is(err, config.ErrAuthInvalid):
		return badRequest("", "%s", err.Error())
	case errors.As(err, &cfgErr):
		return &apiError{Status: http.StatusBadRequest, Name: cfgErr.Name, Data: map[string]any{
			"path": cfgErr.Path, "key": cfgErr.Key, "message": cfgErr.Error()}}
	}
	for _, m := range s.errMappers {
		if e := m(err); e != nil {
			return e
		}
	}
	return newError(http.StatusInternalServerError, "UnknownError", s.scrub(err.Error()))
}

// scrub removes local absolute paths (home, data, project) from a message
// that leaves the process, so errors never disclose the file system layout.
func (s *Server) scrub(msg string) string {
	for _, r := range s.scrubs {
		if r.from != "" {
			msg = strings.ReplaceAll(msg, r.from, r.to)
		}
	}
	return msg
}

type replacement struct{ from, to string }

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	ae := s.mapError(err)
	if ae.Status >= 500 && r.Context().Err() == nil { // a client that left is not an error
		s.log.Error("Request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, ae.Status, errorBody{ae.Name, ae.Data})
}

// errorBody is opencode's error shape, name first as opencode writes it.
type errorBody struct {
	Name string         `json:"name"`
	Data map[string]any `json:"data"`
}

// writeJSON answers v as compact JSON with its Content-Length, as the
// original does: the client knows where the body ends without chunk
// framing, and the server writes it in fewer system calls.
func writeJSON(w http.ResponseWriter, status int, v any) {
	data, ok := v.(rawJSON) // cached, already compact: copy it out
	if !ok {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false) // opencode does not escape <, > and &
		err := enc.Encode(v)
		data = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		if err != nil {
			slog.Error("Encode response", "err", err)
			status, data = http.StatusInternalServerError, []byte(`{"name":"UnknownError","data":{"message":"could not encode response"}}`)
		}
	}
	h := w.Header()
	h["Content-Type"] = contentTypeJSON
	h["Content-Length"] = []string{strconv.Itoa(len(data))}
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

// storageError answers a write the disk refused: 507 when it is full, 500
// otherwise. The message names the system error, never the file: the path
// would disclose the data folder's layout, and the client cannot act on it.
func storageError(err error) *apiError {
	msg := "could not save to disk"
	var errno syscall.Errno
	if errors.As(err, &errno) {
		msg += ": " + errno.Error()
	}
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return newError(http.StatusInsufficientStorage, "StorageFullError", msg)
	}
	return newError(http.StatusInternalServerError, "StorageError", msg)
}

// modelError explains why no model could be used for a prompt.
func modelError(err error) *apiError {
	msg := err.Error()
	if _, after, ok := strings.Cut(msg, session.ErrModel.Error()+": "); ok {
		msg = after
	}
	switch {
	case errors.Is(err, provider.ErrNoProvider):
		return newError(http.StatusBadRequest, "ProviderInitError", msg)
	case errors.Is(err, provider.ErrAuth):
		return newError(http.StatusBadRequest, "ProviderAuthError", msg)
	}
	e := newError(http.StatusBadRequest, "ProviderModelNotFoundError", msg)
	if nf, ok := errors.AsType[*provider.ModelNotFoundError](err); ok {
		e.Data["providerID"], e.Data["modelID"] = nf.ProviderID, nf.ModelID
	}
	return e
}
