package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `ocgo auth login github-copilot` runs GitHub's device flow (here against
// a loopback fake of github.com) and stores the token as opencode does.
func TestAuthLoginGitHubCopilot(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login/device/code", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"device_code": "dc", "user_code": "WXYZ-9876",
			"verification_uri": "https://github.com/login/device", "interval": 1, "expires_in": 60})
	})
	mux.HandleFunc("POST /login/oauth/access_token", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
		if r.Form.Get("client_id") != "Iv1.b507a08c87ecfe98" || r.Form.Get("device_code") != "dc" {
			http.Error(w, "bad", 400)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "gho_fromdeviceflow"})
	})
	gh := httptest.NewServer(mux)
	defer gh.Close()
	data := t.TempDir()
	env := map[string]string{"OCGO_DATA_DIR": data, "OCGO_GITHUB_URL": gh.URL}
	var out bytes.Buffer
	if err := authCommand([]string{"login", "github-copilot"}, func(k string) string { return env[k] }, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "WXYZ-9876") {
		t.Errorf("output: %s", out.String())
	}
	raw, err := os.ReadFile(filepath.Join(data, "auth.json"))
	if err != nil {
		t.Fatal(err)
	}
	var stored map[string]map[string]any
	if err := json.Unmarshal(raw, &stored); err != nil {
		t.Fatal(err)
	}
	if e := stored["github-copilot"]; e["type"] != "oauth" || e["refresh"] != "gho_fromdeviceflow" {
		t.Errorf("auth.json: %s", raw)
	}
	if st, _ := os.Stat(filepath.Join(data, "auth.json")); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode().Perm())
	}
}
