package main

import (
	"encoding/json"

	"ocgo/config"
)

// configRoutes adapts the config package to the config routes.
type configRoutes struct {
	cfg       *config.Config
	auth      *config.AuthStore
	providers func() (any, error)
}

func (c *configRoutes) Config() any   { return c.cfg.Public() }
func (c *configRoutes) Agents() any   { return c.cfg.Agents() }
func (c *configRoutes) Commands() any { return c.cfg.Commands() }

func (c *configRoutes) Providers() (any, error) { return c.providers() }

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
