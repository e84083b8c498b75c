package config

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// WellKnown is an auth.json "wellknown" entry, as opencode's
// `auth login <url>` writes it: the entry's name is an organisation's
// server URL, which hands out Token for the environment variable EnvName
// (the entry's "key") and serves shared config at
// <URL>/.well-known/opencode as {"config": {…}}.
type WellKnown struct {
	URL     string
	EnvName string
	Token   string
}

// Remote is one remote config document: the "config" object (JSON) of a
// .well-known/opencode answer and where it came from.
type Remote struct {
	Source string
	Config []byte
}

// WellKnown lists auth.json's wellknown entries, sorted by URL.
func (s *AuthStore) WellKnown() ([]WellKnown, error) {
	all, err := s.All()
	if err != nil {
		return nil, err
	}
	var out []WellKnown
	for id, a := range all {
		if a.Type == "wellknown" {
			out = append(out, WellKnown{URL: id, EnvName: a.Key, Token: a.Token})
		}
	}
	slices.SortFunc(out, func(a, b WellKnown) int { return strings.Compare(a.URL, b.URL) })
	return out, nil
}

// WellKnownEnv returns env with each entry's variable reading its token:
// opencode sets process.env[key] = token, so provider keys and {env:}
// references see it. The token is not added to the agent's processes
// (they get the environment without secrets).
func WellKnownEnv(env func(string) string, entries []WellKnown) func(string) string {
	if len(entries) == 0 {
		return env
	}
	set := make(map[string]string, len(entries))
	for _, e := range entries {
		if e.EnvName != "" {
			set[e.EnvName] = e.Token
		}
	}
	return func(name string) string {
		if v, ok := set[name]; ok {
			return v
		}
		return env(name)
	}
}

// wellKnownTimeout bounds each .well-known/opencode request: start-up
// waits for it, as the original's does.
const wellKnownTimeout = 10 * time.Second

// FetchWellKnown GETs <URL>/.well-known/opencode for each entry and
// returns the documents' "config" objects (an answer without one counts as
// {}). An entry whose server cannot be reached, answers an error status or
// no JSON object is skipped and reported in errs; start-up goes on without
// it (the original fails to start instead). client nil means
// http.Client's defaults.
func FetchWellKnown(ctx context.Context, client *http.Client, entries []WellKnown) (docs []Remote, errs []error) {
	if client == nil {
		client = &http.Client{}
	}
	for _, e := range entries {
		doc, err := fetchWellKnown(ctx, client, e.URL)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		docs = append(docs, doc)
	}
	return docs, errs
}

func fetchWellKnown(ctx context.Context, client *http.Client, base string) (Remote, error) {
	u, err := url.Parse(strings.TrimRight(base, "/") + "/.well-known/opencode")
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return Remote{}, fmt.Errorf("wellknown auth entry %q: not an http(s) URL", base)
	}
	ctx, cancel := context.WithTimeout(ctx, wellKnownTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return Remote{}, fmt.Errorf("wellknown %s: %w", u.Redacted(), err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return Remote{}, fmt.Errorf("wellknown %s: %w", u.Redacted(), err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return Remote{}, fmt.Errorf("wellknown %s: status %d", u.Redacted(), resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxConfigFile+1))
	if err != nil {
		return Remote{}, fmt.Errorf("wellknown %s: %w", u.Redacted(), err)
	}
	if len(body) > maxConfigFile {
		return Remote{}, fmt.Errorf("wellknown %s: answer larger than %d bytes", u.Redacted(), maxConfigFile)
	}
	var doc struct {
		Config json.RawMessage `json:"config"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return Remote{}, fmt.Errorf("wellknown %s: not a JSON object: %w", u.Redacted(), err)
	}
	cfg := []byte(doc.Config)
	if len(cfg) == 0 || string(cfg) == "null" {
		cfg = []byte("{}")
	}
	return Remote{Source: u.Redacted(), Config: cfg}, nil
}
