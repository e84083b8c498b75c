package provider

import (
	"encoding/json"
	"errors"
	"maps"

	"ocgo/config"
)

// Model is one model as models.dev describes it (field names and JSON shape
// of opencode's `Model` schema). Prices are USD per million tokens.
type Model struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	Attachment  bool           `json:"attachment"`
	Reasoning   bool           `json:"reasoning"`
	Temperature bool           `json:"temperature"`
	ToolCall    bool           `json:"tool_call"`
	Knowledge   string         `json:"knowledge,omitempty"`
	ReleaseDate string         `json:"release_date"`
	LastUpdated string         `json:"last_updated,omitempty"`
	Modalities  *Modalities    `json:"modalities,omitempty"`
	OpenWeights *bool          `json:"open_weights,omitempty"`
	Cost        Pricing        `json:"cost"`
	Limit       Limit          `json:"limit"`
	Options     map[string]any `json:"options"`
}

// Modalities lists the input and output kinds a model accepts/produces.
type Modalities struct {
	Input  []string `json:"input"`
	Output []string `json:"output"`
}

// Pricing is the price of a model in USD per million tokens.
type Pricing struct {
	Input      float64 `json:"input"`
	Output     float64 `json:"output"`
	CacheRead  float64 `json:"cache_read,omitempty"`
	CacheWrite float64 `json:"cache_write,omitempty"`
}

// Limit is the context window and maximum output of a model, in tokens.
type Limit struct {
	Context int64 `json:"context"`
	Output  int64 `json:"output"`
}

// Info is a provider as served by GET /config/providers (opencode's
// `Provider` schema). It never carries credentials or provider options.
type Info struct {
	ID     string           `json:"id"`
	Env    []string         `json:"env"`
	NPM    string           `json:"npm,omitempty"`
	API    string           `json:"api,omitempty"`
	Name   string           `json:"name"`
	Doc    string           `json:"doc,omitempty"`
	Models map[string]Model `json:"models"`
}

// decodeCatalog parses a catalog in models.dev's api.json format (the
// format of opencode's cache file too), filling in ids and empty options.
func decodeCatalog(data []byte) (map[string]Info, error) {
	var c map[string]Info
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, err
	}
	if len(c) == 0 {
		return nil, errors.New("no providers")
	}
	for id, p := range c {
		p.ID = id
		if p.Env == nil {
			p.Env = []string{}
		}
		if p.Models == nil {
			p.Models = map[string]Model{}
		}
		for mid, m := range p.Models {
			m.ID = mid
			if m.Options == nil {
				m.Options = map[string]any{}
			}
			p.Models[mid] = m
		}
		c[id] = p
	}
	return c, nil
}

// mergeModel applies a config model over base (which may be the zero Model
// when the catalog does not know the id), following opencode's defaults:
// name = id, tool_call = true, the rest false/zero.
func mergeModel(id string, base *Model, cm config.ModelConfig) Model {
	m := Model{ID: id, Name: id, ToolCall: true, Options: map[string]any{}}
	if base != nil {
		m = *base
		m.Options = maps.Clone(base.Options)
		if m.Options == nil {
			m.Options = map[string]any{}
		}
	}
	if cm.ID != "" {
		m.ID = cm.ID
	}
	if cm.Name != "" {
		m.Name = cm.Name
	}
	if cm.ReleaseDate != "" {
		m.ReleaseDate = cm.ReleaseDate
	}
	setBool := func(dst *bool, src *bool) {
		if src != nil {
			*dst = *src
		}
	}
	setBool(&m.Attachment, cm.Attachment)
	setBool(&m.Reasoning, cm.Reasoning)
	setBool(&m.Temperature, cm.Temperature)
	setBool(&m.ToolCall, cm.ToolCall)
	if cm.Cost != nil {
		m.Cost = Pricing(*cm.Cost)
	}
	if cm.Limit != nil {
		m.Limit = Limit{Context: int64(cm.Limit.Context), Output: int64(cm.Limit.Output)}
	}
	maps.Copy(m.Options, cm.Options)
	return m
}

// clone returns a deep-enough copy of p for callers to keep.
func (p Info) clone() Info {
	out := p
	out.Env = append([]string{}, p.Env...) // never null: clients iterate it
	out.Models = make(map[string]Model, len(p.Models))
	for k, m := range p.Models {
		m.Options = maps.Clone(m.Options)
		if m.Options == nil {
			m.Options = map[string]any{}
		}
		out.Models[k] = m
	}
	return out
}
