package oauth

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ocgo/config"
)

func TestRefreshAgainstALoopbackTokenEndpoint(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var in map[string]string
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			t.Error(err)
		}
		if r.Method != http.MethodPost || in["grant_type"] != "refresh_token" || in["refresh_token"] != "rt-1" || in["client_id"] != "cid" {
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "at-2", "refresh_token": "rt-2", "expires_in": 3600})
	}))
	defer srv.Close()
	path := filepath.Join(t.TempDir(), "auth.json")
	store := config.NewAuthStore(path)
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	if err := store.Set("anthropic", config.Auth{Type: "oauth", Refresh: "rt-1", Access: "at-1", Expires: now.Add(30 * time.Second).UnixMilli()}); err != nil {
		t.Fatal(err)
	}
	r := &Refresher{Store: store, Now: func() time.Time { return now },
		Endpoints: map[string]Endpoint{"anthropic": {Kind: "refresh-token", TokenURL: srv.URL + "/v1/oauth/token", ClientID: "cid"}}}
	tok, ok, err := r.Access(context.Background(), "anthropic")
	if err != nil || !ok || tok != "at-2" {
		t.Fatalf("Access = %q %v %v", tok, ok, err)
	}
	a, _, _ := store.Get("anthropic")
	if a.Refresh != "rt-2" || a.Access != "at-2" || a.Expires != now.Add(time.Hour).UnixMilli() {
		t.Errorf("stored: %v", a.GoString())
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("auth.json mode %v", st.Mode().Perm())
	}
	// Still valid: no second request.
	if tok, _, _ := r.Access(context.Background(), "anthropic"); tok != "at-2" || calls.Load() != 1 {
		t.Errorf("token %q after %d calls", tok, calls.Load())
	}
	// A refused refresh keeps the stored tokens and names no secret.
	if err := store.Set("anthropic", config.Auth{Type: "oauth", Refresh: "rt-bad", Access: "old", Expires: 1}); err != nil {
		t.Fatal(err)
	}
	_, _, err = r.Access(context.Background(), "anthropic")
	if err == nil || strings.Contains(err.Error(), "rt-bad") {
		t.Errorf("err %v", err)
	}
	if a, _, _ := store.Get("anthropic"); a.Refresh != "rt-bad" {
		t.Errorf("stored after failure: %v", a.GoString())
	}
	// Not an OAuth entry: not ours.
	if err := store.Set("openai", config.Auth{Type: "api", Key: "k"}); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := r.Access(context.Background(), "openai"); ok || err != nil {
		t.Errorf("api entry: %v %v", ok, err)
	}
}

func TestCopilotDeviceFlowThenTokenExchange(t *testing.T) {
	var polls atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login/device/code", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
		if r.Form.Get("client_id") != "Iv1.test" || r.Form.Get("scope") != "read:user" {
			http.Error(w, "bad", 400)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"device_code": "dc-1", "user_code": "ABCD-1234",
			"verification_uri": "https://github.com/login/device", "interval": 1, "expires_in": 900})
	})
	mux.HandleFunc("POST /login/oauth/access_token", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
		if r.Form.Get("device_code") != "dc-1" || r.Form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:device_code" {
			http.Error(w, "bad", 400)
			return
		}
		if polls.Add(1) < 3 {
			_ = json.NewEncoder(w).Encode(map[string]any{"error": "authorization_pending"})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "gho_github", "token_type": "bearer"})
	})
	mux.HandleFunc("GET /copilot_internal/v2/token", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer gho_github" || r.Header.Get("Editor-Version") == "" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"token": "tid=copilot;exp=1", "expires_at": 1800000000})
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	store := config.NewAuthStore(filepath.Join(t.TempDir(), "auth.json"))
	flow := DeviceFlow{CodeURL: srv.URL + "/login/device/code", TokenURL: srv.URL + "/login/oauth/access_token",
		ClientID: "Iv1.test", Scope: "read:user", Sleep: func(context.Context, time.Duration) error { return nil }}
	var shown string
	if err := flow.Login(context.Background(), store, "github-copilot", func(code, uri string) { shown = code + " " + uri }); err != nil {
		t.Fatal(err)
	}
	if shown != "ABCD-1234 https://github.com/login/device" || polls.Load() != 3 {
		t.Errorf("shown %q after %d polls", shown, polls.Load())
	}
	r := &Refresher{Store: store, Now: func() time.Time { return time.Unix(1700000000, 0) },
		Endpoints: map[string]Endpoint{"github-copilot": {Kind: "copilot", TokenURL: srv.URL + "/copilot_internal/v2/token"}}}
	tok, ok, err := r.Access(context.Background(), "github-copilot")
	if err != nil || !ok || tok != "tid=copilot;exp=1" {
		t.Fatalf("Access = %q %v %v", tok, ok, err)
	}
	if a, _, _ := store.Get("github-copilot"); a.Refresh != "gho_github" || a.Expires != 1800000000000 {
		t.Errorf("stored %v", a.GoString())
	}
}
