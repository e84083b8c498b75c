package oauth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"ocgo/config"
	"ocgo/provider"
)

// DeviceFlow is GitHub's OAuth device flow as opencode's Copilot login runs
// it: ask for a device code, show the user the code and URL, poll until they
// approve, then store the GitHub token as the refresh token of an "oauth"
// entry (the Copilot access token is fetched by the first Access call).
type DeviceFlow struct {
	CodeURL  string // https://github.com/login/device/code
	TokenURL string // https://github.com/login/oauth/access_token
	ClientID string
	Scope    string
	Client   *http.Client
	// Sleep waits between polls; nil means a timer (tests shorten it).
	Sleep func(ctx context.Context, d time.Duration) error
}

// CopilotDeviceFlow is the flow against GitHub with Copilot's client id.
func CopilotDeviceFlow() DeviceFlow {
	return DeviceFlow{CodeURL: "https://github.com/login/device/code", TokenURL: "https://github.com/login/oauth/access_token",
		ClientID: "Iv1.b507a08c87ecfe98", Scope: "read:user"}
}

// ErrDenied means the user refused the authorization or the code expired.
var ErrDenied = errors.New("oauth: authorization refused or expired")

// Login runs the flow: show is called once with the code to type and the
// page to type it on; the GitHub token is stored under providerID.
func (f DeviceFlow) Login(ctx context.Context, store *config.AuthStore, providerID string, show func(userCode, verifyURL string)) error {
	c := f.Client
	if c == nil {
		c = &http.Client{Timeout: 30 * time.Second}
	}
	sleep := f.Sleep
	if sleep == nil {
		sleep = provider.Sleep
	}
	form := func(u string, v url.Values) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(v.Encode()))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		return req, nil
	}
	req, err := form(f.CodeURL, url.Values{"client_id": {f.ClientID}, "scope": {f.Scope}})
	if err != nil {
		return err
	}
	var code struct {
		DeviceCode      string `json:"device_code"`
		UserCode        string `json:"user_code"`
		VerificationURI string `json:"verification_uri"`
		Interval        int    `json:"interval"`
		ExpiresIn       int    `json:"expires_in"`
	}
	if err := doJSON(c, req, &code); err != nil {
		return err
	}
	if code.DeviceCode == "" {
		return errors.New("oauth: no device code in the answer")
	}
	show(code.UserCode, code.VerificationURI)
	interval := time.Duration(max(code.Interval, 1)) * time.Second
	deadline := time.Now().Add(time.Duration(max(code.ExpiresIn, 60)) * time.Second)
	for time.Now().Before(deadline) {
		if err := sleep(ctx, interval); err != nil {
			return err
		}
		req, err := form(f.TokenURL, url.Values{"client_id": {f.ClientID}, "device_code": {code.DeviceCode},
			"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}})
		if err != nil {
			return err
		}
		var tok struct {
			AccessToken string `json:"access_token"`
			Error       string `json:"error"`
			Interval    int    `json:"interval"`
		}
		if err := doJSON(c, req, &tok); err != nil {
			return err
		}
		switch {
		case tok.AccessToken != "":
			return store.Set(providerID, config.Auth{Type: "oauth", Refresh: tok.AccessToken})
		case tok.Error == "authorization_pending":
		case tok.Error == "slow_down":
			interval = max(interval+5*time.Second, time.Duration(tok.Interval)*time.Second)
		default:
			return ErrDenied
		}
	}
	return ErrDenied
}
