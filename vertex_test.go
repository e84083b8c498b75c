package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"ocgo/provider/fakellm"
)

// Vertex AI with a service account key (GOOGLE_APPLICATION_CREDENTIALS):
// the key's signed assertion is exchanged for an access token at its
// token_uri (a loopback server here), and the token reaches Claude at
// Vertex's streamRawPredict endpoint and Gemini at Vertex's
// OpenAI-compatible endpoint.
func TestVertexAI(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	var exchanged atomic.Int32
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ParseForm() != nil || r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" ||
			strings.Count(r.PostForm.Get("assertion"), ".") != 2 {
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		}
		exchanged.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"ya29.fake-access","token_type":"Bearer","expires_in":3600}`))
	}))
	defer tokens.Close()
	pk := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: vertexMust(x509.MarshalPKCS8PrivateKey(key))})
	sa, _ := json.Marshal(map[string]string{"type": "service_account", "project_id": "proj-1", "private_key_id": "k1",
		"private_key": string(pk), "client_email": "ocgo@proj-1.iam.gserviceaccount.com", "token_uri": tokens.URL})
	credFile := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(credFile, sa, 0o600); err != nil {
		t.Fatal(err)
	}
	claude := fakellm.NewVertexAnthropic(t, "ya29.fake-access", fakellm.Turn{Text: []string{"claude ", "on vertex"}})
	gemini := fakellm.NewOpenAI(t, fakellm.Turn{Text: []string{"gemini ", "on vertex"}})
	cfg := `{"provider":{"google-vertex-anthropic":{"options":{"baseURL":"` + claude.URL + `"}},
		"google-vertex":{"options":{"baseURL":"` + gemini.URL + `","location":"europe-west4"}}}}`
	h := newHarness(t, harnessOpts{config: cfg, env: map[string]string{"GOOGLE_APPLICATION_CREDENTIALS": credFile, "GOOGLE_VERTEX_PROJECT": "proj-1"}})
	sid := h.newSession()
	for _, c := range []struct{ provider, model, want string }{
		{"google-vertex-anthropic", "claude-sonnet-4@20250514", "claude on vertex"},
		{"google-vertex", "gemini-2.5-pro", "gemini on vertex"},
	} {
		var res struct {
			Info struct {
				Error any `json:"error"`
			} `json:"info"`
			Parts []struct{ Type, Text string } `json:"parts"`
		}
		h.call("POST", "/session/"+sid+"/message", modelPrompt(c.provider, c.model, "hi"), &res)
		text := ""
		for _, p := range res.Parts {
			if p.Type == "text" {
				text += p.Text
			}
		}
		if res.Info.Error != nil || text != c.want {
			t.Errorf("%s: %v, %q", c.provider, res.Info.Error, text)
		}
	}
	if r := claude.Requests(); len(r) != 1 || r[0].Rejected != "" ||
		r[0].Path != "/v1/projects/proj-1/locations/us-east5/publishers/anthropic/models/claude-sonnet-4@20250514:streamRawPredict" {
		t.Errorf("claude requests: %+v", r)
	}
	r := gemini.Requests()
	if len(r) != 1 || r[0].Path != "/v1/projects/proj-1/locations/europe-west4/endpoints/openapi/chat/completions" ||
		r[0].Body["model"] != "google/gemini-2.5-pro" || r[0].Header.Get("Authorization") != "Bearer ya29.fake-access" {
		t.Errorf("gemini request: %+v", r)
	}
	if n := exchanged.Load(); n != 1 {
		t.Errorf("token exchanges: %d (the token is reused until it expires)", n)
	}
}

func vertexMust[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
