package fakellm

import (
	"encoding/json"
	"net/http"
	"strings"
)

// NewVertexAnthropic starts a fake Vertex AI endpoint for Claude: the
// Anthropic Messages protocol at
// …/v1/projects/<p>/locations/<l>/publishers/anthropic/models/<model>:streamRawPredict.
// Its URL is what replaces https://<location>-aiplatform.googleapis.com/v1
// (the provider's options.baseURL). Like Vertex it wants
// "Authorization: Bearer <token>" (else 401 with Google's body), no
// "model" in the body (the model is in the path) and
// anthropic_version "vertex-2023-10-16"; the Messages checks follow.
func NewVertexAnthropic(t T, token string, turns ...Turn) *Server {
	t.Helper()
	return newServer(t, vertexAnthropicProto{token: token}, turns)
}

type vertexAnthropicProto struct {
	anthropicProto
	token string
}

func (vertexAnthropicProto) path() string { return ":streamRawPredict" }

func (p vertexAnthropicProto) authorize(r *http.Request) (int, []byte, string) {
	if r.Header.Get("Authorization") != "Bearer "+p.token {
		msg := "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential."
		body, _ := json.Marshal([]any{map[string]any{"error": map[string]any{"code": 401, "message": msg, "status": "UNAUTHENTICATED"}}})
		return http.StatusUnauthorized, body, msg
	}
	if !strings.Contains(r.URL.Path, "/projects/") || !strings.Contains(r.URL.Path, "/publishers/anthropic/models/") {
		msg := "The requested URL was not found on this server."
		return http.StatusNotFound, []byte(`{"error":{"code":404,"message":"` + msg + `","status":"NOT_FOUND"}}`), msg
	}
	return 0, nil, ""
}

func (p vertexAnthropicProto) validate(req map[string]any) ([]byte, string) {
	if _, ok := req["model"]; ok {
		msg := "model: Extra inputs are not permitted"
		return anthropicErrorBody(msg), msg
	}
	if req["anthropic_version"] != "vertex-2023-10-16" {
		msg := "anthropic_version: Input should be 'vertex-2023-10-16'"
		return anthropicErrorBody(msg), msg
	}
	return p.anthropicProto.validate(req)
}
