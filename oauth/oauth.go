// Package oauth keeps the OAuth credentials of auth.json usable, the way
// opencode's auth plugins do: it refreshes an expired access token against
// the provider's token endpoint and writes the new tokens back to auth.json
// (0600, under its cross-process lock, so two processes never spend one
// refresh token twice), and it runs GitHub's device flow for
// `ocgo auth login github-copilot`.
//
// Two kinds of endpoint are known:
//   - "refresh-token" (Anthropic): POST {grant_type: refresh_token,
//     refresh_token, client_id} → {access_token, refresh_token, expires_in};
//   - "copilot" (GitHub Copilot): the stored refresh is a GitHub OAuth token;
//     GET the Copilot token endpoint with it → {token, expires_at}.
//
// Secrets never appear in errors or logs.
package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"ocgo/config"
	"ocgo/provider"
)

// Endpoint is how one provider's tokens are refreshed.
type Endpoint struct {
	Kind     string // "refresh-token" or "copilot"
	TokenURL string
	ClientID string
}

// Endpoints are the real ones (the same as opencode's auth plugins).
func Endpoints() map[string]Endpoint {
	return map[string]Endpoint{
		"anthropic":      {Kind: "refresh-token", TokenURL: "https://console.anthropic.com/v1/oauth/token", ClientID: "9d1c250a-e61b-44d9-88ed-5944d1962f5e"},
		"github-copilot": {Kind: "copilot", TokenURL: "https://api.github.com/copilot_internal/v2/token"},
	}
}

// ErrNoRefresh means a stored OAuth entry cannot be refreshed (unknown
// provider or no refresh token): log in again.
var ErrNoRefresh = errors.New("oauth: credential expired and cannot be refreshed; log in again")

// Refresher hands out valid access tokens for OAuth entries of auth.json.
type Refresher struct {
	Store     *config.AuthStore
	Endpoints map[string]Endpoint
	Client    *http.Client // nil: a client with a 30 s timeout
	Now       func() time.Time
}

// skew is how long before its expiry an access token is renewed.
const skew = time.Minute

func (r *Refresher) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Refresher) client() *http.Client {
	if r.Client != nil {
		return r.Client
	}
	return &http.Client{Timeout: 30 * time.Second}
}

// Access returns a valid access token for providerID when auth.json holds
// an OAuth entry for it (ok false otherwise), refreshing it first when it
// expires within a minute.
func (r *Refresher) Access(ctx context.Context, providerID string) (token string, ok bool, err error) {
	a, found, err := r.Store.Get(providerID)
	if err != nil || !found || a.Type != "oauth" {
		return "", false, err
	}
	if a.Access != "" && time.UnixMilli(a.Expires).After(r.now().Add(skew)) {
		return a.Access, true, nil
	}
	ep, known := r.Endpoints[providerID]
	if !known {
		return "", true, fmt.Errorf("%w (provider %s)", ErrNoRefresh, providerID)
	}
	a, err = r.Store.Update(providerID, func(cur config.Auth, ok bool) (config.Auth, bool, error) {
		if !ok || cur.Type != "oauth" || cur.Refresh == "" {
			return cur, false, fmt.Errorf("%w (provider %s)", ErrNoRefresh, providerID)
		}
		// Another process may have refreshed while we waited for the lock.
		if cur.Access != "" && time.UnixMilli(cur.Expires).After(r.now().Add(skew)) {
			return cur, false, nil
		}
		next, err := r.refresh(ctx, ep, cur)
		return next, err == nil, err
	})
	if err != nil {
		return "", true, err
	}
	return a.Access, true, nil
}

func (r *Refresher) refresh(ctx context.Context, ep Endpoint, cur config.Auth) (config.Auth, error) {
	var req *http.Request
	var err error
	switch ep.Kind {
	case "refresh-token":
		body, _ := json.Marshal(map[string]string{"grant_type": "refresh_token", "refresh_token": cur.Refresh, "client_id": ep.ClientID})
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, ep.TokenURL, strings.NewReader(string(body)))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
	case "copilot":
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, ep.TokenURL, nil)
		if err == nil {
			req.Header.Set("Authorization", "Bearer "+cur.Refresh)
			copilotHeaders(req.Header)
		}
	default:
		return cur, fmt.Errorf("oauth: unknown endpoint kind %q", ep.Kind)
	}
	if err != nil {
		return cur, err
	}
	req.Header.Set("Accept", "application/json")
	var out struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		ExpiresIn    int64  `json:"expires_in"`
		Token        string `json:"token"`
		ExpiresAt    int64  `json:"expires_at"`
	}
	if err := r.do(req, &out); err != nil {
		return cur, err
	}
	next := config.Auth{Type: "oauth", Refresh: cur.Refresh}
	switch ep.Kind {
	case "refresh-token":
		if out.AccessToken == "" {
			return cur, errors.New("oauth: token endpoint returned no access token")
		}
		next.Access = out.AccessToken
		if out.RefreshToken != "" {
			next.Refresh = out.RefreshToken
		}
		next.Expires = r.now().Add(time.Duration(out.ExpiresIn) * time.Second).UnixMilli()
	case "copilot":
		if out.Token == "" {
			return cur, errors.New("oauth: Copilot token endpoint returned no token")
		}
		next.Access = out.Token
		next.Expires = out.ExpiresAt * 1000
	}
	return next, nil
}

// do sends req and decodes a JSON answer; a non-2xx status is an error
// that names the status only (bodies may echo tokens).
func (r *Refresher) do(req *http.Request, out any) error {
	return doJSON(r.client(), req, out)
}

func doJSON(c *http.Client, req *http.Request, out any) error {
	resp, err := c.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			return fmt.Errorf("oauth: %s %s: %w", req.Method, req.URL.Host, uerr.Err)
		}
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("oauth: %s %s: %s", req.Method, req.URL.Host, resp.Status)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("oauth: %s %s: answer is not JSON", req.Method, req.URL.Host)
	}
	return nil
}

// copilotHeaders sets the headers GitHub Copilot's API expects from an
// editor integration.
func copilotHeaders(h http.Header) {
	for k, v := range provider.CopilotHeaders {
		h.Set(k, v)
	}
}

// Has reports whether auth.json holds an OAuth entry for providerID.
func (r *Refresher) Has(providerID string) bool {
	a, ok, err := r.Store.Get(providerID)
	return err == nil && ok && a.Type == "oauth"
}
