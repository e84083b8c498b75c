package provider

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
)

// Google Vertex AI: Claude models through Anthropic's Messages protocol
// at Vertex's rawPredict endpoints, and Gemini (and the other Vertex
// models) through Vertex's OpenAI-compatible endpoint, both with an OAuth
// access token from Google's Application Default Credentials. Only
// golang.org/x/oauth2/google is added for it (about 0.6 MB); Google's and
// Anthropic's Vertex SDK packages would link gRPC.

// vertexScope is the OAuth scope Vertex AI requests need.
const vertexScope = "https://www.googleapis.com/auth/cloud-platform"

// isVertex reports whether p is served by Vertex AI.
func isVertex(p Info) bool {
	return strings.HasPrefix(p.ID, "google-vertex") || strings.HasPrefix(p.NPM, "@ai-sdk/google-vertex")
}

// vertexProject and vertexLocation read options.project / options.location,
// then the variables the AI SDK and Google's tools use.
func (r *Registry) vertexProject(id string) string {
	return cmp.Or(r.optString(id, "project"), r.src.Env("GOOGLE_VERTEX_PROJECT"), r.src.Env("GOOGLE_CLOUD_PROJECT"))
}

func (r *Registry) vertexLocation(id string, claude bool) string {
	def := "us-central1"
	if claude {
		def = "us-east5" // where Anthropic's models are served by default
	}
	return cmp.Or(r.optString(id, "location"), r.src.Env("GOOGLE_VERTEX_LOCATION"), r.src.Env("GOOGLE_CLOUD_LOCATION"), def)
}

// vertexBase is https://<location>-aiplatform.googleapis.com/v1/projects/<p>/locations/<l>
// (options.baseURL replaces everything before /projects).
func (r *Registry) vertexBase(id string, claude bool) (string, error) {
	project := r.vertexProject(id)
	if project == "" {
		return "", fmt.Errorf("%w: provider %s needs a Google Cloud project: set GOOGLE_VERTEX_PROJECT or options.project", ErrAuth, id)
	}
	loc := r.vertexLocation(id, claude)
	host := "https://" + url.PathEscape(loc) + "-aiplatform.googleapis.com/v1"
	if loc == "global" {
		host = "https://aiplatform.googleapis.com/v1"
	}
	host = cmp.Or(strings.TrimRight(r.optString(id, "baseURL"), "/"), host)
	return host + "/projects/" + url.PathEscape(project) + "/locations/" + url.PathEscape(loc), nil
}

// vertexTokens hands out access tokens from Application Default
// Credentials: the JSON file GOOGLE_APPLICATION_CREDENTIALS names (a
// service account key or gcloud's authorized_user file), else gcloud's
// well-known file or the metadata server. The source is built once and
// renews its token before it expires.
type vertexTokens struct {
	once sync.Once
	ts   oauth2.TokenSource
	err  error
}

func (v *vertexTokens) token(ctx context.Context, env func(string) string, client *http.Client) (string, error) {
	v.once.Do(func() {
		// The token source outlives this call: it must not stop with
		// the first request's context.
		bg := context.WithValue(context.Background(), oauth2.HTTPClient, client)
		var creds *google.Credentials
		if path := env("GOOGLE_APPLICATION_CREDENTIALS"); path != "" {
			creds, v.err = vertexCredentials(bg, path)
		} else {
			creds, v.err = google.FindDefaultCredentials(bg, vertexScope)
		}
		if v.err == nil {
			v.ts = creds.TokenSource
		}
	})
	if v.err != nil {
		return "", fmt.Errorf("%w: Google credentials: %w", ErrAuth, v.err)
	}
	tok, err := v.ts.Token()
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", fmt.Errorf("%w: Google access token: %w", ErrAuth, err)
	}
	return tok.AccessToken, nil
}

// vertexCredentials reads a credentials file of a type that only talks to
// Google's token endpoint (external_account files may run commands or
// read URLs, so they are refused).
func vertexCredentials(ctx context.Context, path string) (*google.Credentials, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, errors.New("cannot read GOOGLE_APPLICATION_CREDENTIALS")
	}
	var head struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(data, &head) != nil {
		return nil, errors.New("GOOGLE_APPLICATION_CREDENTIALS is not JSON")
	}
	switch t := google.CredentialsType(head.Type); t {
	case google.ServiceAccount, google.AuthorizedUser:
		return google.CredentialsFromJSONWithType(ctx, data, t, vertexScope)
	}
	return nil, fmt.Errorf("credentials of type %q are not supported (use a service account key or gcloud auth application-default login)", head.Type)
}

// vertexModel builds a Vertex model: Claude through the Anthropic adapter
// at Vertex's rawPredict endpoint, anything else through Vertex's
// OpenAI-compatible endpoint (model "google/<id>" unless the id names its
// publisher). Both send the access token as a Bearer token; it is returned
// too, for the retry layer to scrub from errors.
func (r *Registry) vertexModel(ctx context.Context, p Info, modelID string, headers map[string]string) (wireModel, wire, string, error) {
	claude := Family(modelID) == FamilyAnthropic
	base, err := r.vertexBase(p.ID, claude)
	if err != nil {
		return nil, 0, "", err
	}
	token, err := r.vertex.token(ctx, r.src.Env, r.client)
	if err != nil {
		return nil, 0, "", err
	}
	if claude {
		return newAnthropicModel(anthropicConfig{providerID: p.ID, modelID: modelID, baseURL: base, authToken: token,
			headers: headers, client: r.client, vertex: true}), wireAnthropic, token, nil
	}
	id := modelID
	if !strings.Contains(id, "/") {
		id = "google/" + id
	}
	return newChatModel(chatConfig{providerID: p.ID, modelID: id, baseURL: base + "/endpoints/openapi", apiKey: token,
		headers: headers, client: r.client, compat: true}), wireCompat, token, nil
}
