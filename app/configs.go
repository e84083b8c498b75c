package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"

	"ocgo/config"
	"ocgo/oauth"
	"ocgo/provider"
	"ocgo/tool"
)

// configRoutes adapts the config package to the config routes.
type configRoutes struct {
	cfg    *config.Config
	auth   *config.AuthStore
	models *provider.Registry
}

func (c *configRoutes) Config() config.Document    { return c.cfg.Public() }
func (c *configRoutes) Agents() []config.Agent     { return c.cfg.Agents() }
func (c *configRoutes) Commands() []config.Command { return c.cfg.Commands() }

func (c *configRoutes) Providers() (provider.Listing, error) {
	return providersAnswer(c.models, c.cfg), nil
}

// SetAuth validates and stores credentials; neither the id's secret nor the
// body is ever logged or echoed.
func (c *configRoutes) SetAuth(id string, body json.RawMessage) error {
	if err := config.ValidateAuthID(id); err != nil {
		return err
	}
	a, err := config.ParseAuth(body)
	if err != nil {
		return err
	}
	return c.auth.Set(id, a)
}

// newModels builds the provider registry from the config's provider
// blocks; keys come from the environment and auth.json, read on every use.
func newModels(cfg *config.Config, auth *config.AuthStore, env func(string) string, retry *provider.RetryPolicy, catalog *provider.Catalog, logger *slog.Logger) (*provider.Registry, error) {
	return provider.NewRegistry(provider.Source{
		Config: cfg.Provider, Disabled: cfg.DisabledProviders, Env: env, Retry: retry, Catalog: catalog,
		OAuth: &oauth.Refresher{Store: auth, Endpoints: oauth.Endpoints()},
		Auth: func(id string) (string, bool) {
			a, ok, err := auth.Get(id)
			if err != nil || !ok || a.Type != "api" {
				return "", false
			}
			return a.Key, true
		},
	}, logger)
}

// providersAnswer is GET /config/providers, with per-model options redacted.
func providersAnswer(models *provider.Registry, cfg *config.Config) provider.Listing {
	list := models.List()
	out := make([]provider.Info, 0, len(list))
	for _, p := range list {
		// Per-model options come from the config (apiKey, headers, …):
		// redacted as GET /config redacts them.
		ms := make(map[string]provider.Model, len(p.Models))
		for id, m := range p.Models {
			if m.Options != nil {
				m.Options, _ = cfg.Redact(m.Options).(map[string]any)
			}
			ms[id] = m
		}
		p.Models = ms
		out = append(out, p)
	}
	return provider.Listing{Providers: out, Default: models.Defaults(), Catalog: models.CatalogInfo()}
}

// subagents lists the agents the task tool may start.
func subagents(cfg *config.Config) []tool.AgentInfo {
	var out []tool.AgentInfo
	for _, a := range cfg.Agents() {
		if a.Mode != "primary" {
			out = append(out, tool.AgentInfo{Name: a.Name, Description: a.Description})
		}
	}
	return out
}

// withWellKnown applies auth.json's wellknown entries as opencode does:
// each token goes into the environment variable its entry names (the
// environment as ocgo sees it, so provider keys and {env:} references
// read it; the agent's processes do not get it), and each server's
// <url>/.well-known/opencode config is merged after OPENCODE_CONFIG. A
// server that cannot be reached is logged and skipped.
func withWellKnown(c Config) Config {
	p, err := ResolvePaths(c)
	if err != nil {
		return c
	}
	entries, err := config.NewAuthStore(filepath.Join(p.DataRoot, "auth.json")).WellKnown()
	if err != nil || len(entries) == 0 {
		return c
	}
	c.Env = config.WellKnownEnv(c.Env, entries)
	docs, errs := config.FetchWellKnown(context.Background(), nil, entries)
	for _, err := range errs {
		c.Logger.Warn("Skipping a remote config", "err", err)
	}
	c.remote = docs
	return c
}
