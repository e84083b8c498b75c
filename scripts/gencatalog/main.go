// Command gencatalog writes ocgo's embedded model catalog
// (provider/catalog.json, models.dev's api.json format) and its date
// (provider/catalog_source.json). scripts/catalog.sh fetches the inputs and
// runs it; see there.
//
// Inputs: a models.dev api.json (-modelsdev), which wins for every model it
// has, and optionally charm.land/catwalk's provider configs (-catwalk, a
// directory of JSON files), which add the models and providers models.dev's
// copy lacks, with the fields catwalk knows (prices, limits, reasoning,
// attachments) and opencode's defaults for the rest.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// catwalkIDs maps catwalk provider ids to models.dev ids where they differ
// or match; unmapped catwalk providers are added under their own id.
var catwalkIDs = map[string]string{
	"anthropic": "anthropic", "openai": "openai", "gemini": "google", "openrouter": "openrouter",
	"groq": "groq", "deepseek": "deepseek", "xai": "xai", "cerebras": "cerebras", "chutes": "chutes",
	"fireworks": "fireworks-ai", "huggingface": "huggingface", "moonshot": "moonshotai",
	"zai": "zai-coding-plan", "zhipu": "zhipuai", "venice": "venice", "vercel": "vercel",
	"synthetic": "synthetic", "baseten": "baseten", "azure": "azure", "copilot": "github-copilot",
	"opencode-zen": "opencode", "bedrock": "amazon-bedrock", "vertexai": "google-vertex",
}

type catwalkProvider struct {
	Name        string         `json:"name"`
	ID          string         `json:"id"`
	Type        string         `json:"type"`
	APIKey      string         `json:"api_key"`
	APIEndpoint string         `json:"api_endpoint"`
	Models      []catwalkModel `json:"models"`
}

type catwalkModel struct {
	ID                  string  `json:"id"`
	Name                string  `json:"name"`
	CostIn              float64 `json:"cost_per_1m_in"`
	CostOut             float64 `json:"cost_per_1m_out"`
	CostInCached        float64 `json:"cost_per_1m_in_cached"`
	CostOutCached       float64 `json:"cost_per_1m_out_cached"`
	ContextWindow       int64   `json:"context_window"`
	DefaultMaxTokens    int64   `json:"default_max_tokens"`
	CanReason           bool    `json:"can_reason"`
	SupportsAttachments bool    `json:"supports_attachments"`
}

func main() {
	modelsdev := flag.String("modelsdev", "", "models.dev api.json")
	catwalk := flag.String("catwalk", "", "catwalk provider configs directory (optional)")
	out := flag.String("out", "provider/catalog.json", "catalog to write")
	meta := flag.String("meta", "provider/catalog_source.json", "source description to write")
	date := flag.String("date", "", "date of the data (YYYY-MM-DD)")
	sources := flag.String("sources", "", "human-readable list of the inputs")
	flag.Parse()
	if *modelsdev == "" || *date == "" {
		log.Fatal("usage: gencatalog -modelsdev api.json -date YYYY-MM-DD [-catwalk dir] [-sources text]")
	}
	raw, err := os.ReadFile(*modelsdev)
	if err != nil {
		log.Fatal(err)
	}
	var cat map[string]map[string]any
	if err := json.Unmarshal(raw, &cat); err != nil {
		log.Fatalf("%s: %v", *modelsdev, err)
	}
	added := 0
	if *catwalk != "" {
		files, _ := filepath.Glob(filepath.Join(*catwalk, "*.json"))
		for _, f := range files {
			added += mergeCatwalk(cat, f)
		}
	}
	if err := os.WriteFile(*out, encode(cat), 0o644); err != nil {
		log.Fatal(err)
	}
	models := 0
	for _, p := range cat {
		m, _ := p["models"].(map[string]any)
		models += len(m)
	}
	src, _ := json.MarshalIndent(map[string]any{"date": *date, "sources": *sources, "providers": len(cat), "models": models}, "", "  ")
	if err := os.WriteFile(*meta, append(src, '\n'), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d providers, %d models (%d from catwalk)\n", len(cat), models, added)
}

// mergeCatwalk adds one catwalk provider file's models that cat lacks.
func mergeCatwalk(cat map[string]map[string]any, file string) int {
	raw, err := os.ReadFile(file)
	if err != nil {
		log.Fatal(err)
	}
	var cp catwalkProvider
	if err := json.Unmarshal(raw, &cp); err != nil {
		log.Fatalf("%s: %v", file, err)
	}
	id, known := catwalkIDs[cp.ID]
	if !known {
		id = cp.ID
	}
	p, ok := cat[id]
	if !ok {
		p = newProvider(id, cp)
		if p == nil {
			return 0
		}
		cat[id] = p
	}
	// A key variable catwalk knows (GEMINI_API_KEY for google) works too.
	if env, ok := strings.CutPrefix(cp.APIKey, "$"); ok && env != "" {
		list, _ := p["env"].([]any)
		have := false
		for _, e := range list {
			have = have || e == env
		}
		if !have {
			p["env"] = append(list, env)
		}
	}
	models, _ := p["models"].(map[string]any)
	n := 0
	for _, m := range cp.Models {
		if _, have := models[m.ID]; have {
			continue
		}
		models[m.ID] = fromCatwalk(m)
		n++
	}
	return n
}

// newProvider describes a provider models.dev's copy lacks, or nil when
// ocgo could not reach it (no key variable, or no fixed endpoint).
func newProvider(id string, cp catwalkProvider) map[string]any {
	_, ok := strings.CutPrefix(cp.APIKey, "$")
	if !ok || !strings.HasPrefix(cp.APIEndpoint, "https://") {
		return nil
	}
	p := map[string]any{"id": id, "name": cp.Name, "env": []any{}, "models": map[string]any{}}
	switch cp.Type {
	case "openai-compat", "openai":
		p["npm"], p["api"] = "@ai-sdk/openai-compatible", cp.APIEndpoint
	case "anthropic":
		p["npm"], p["api"] = "@ai-sdk/anthropic", strings.TrimRight(cp.APIEndpoint, "/")+"/v1"
	default:
		return nil
	}
	return p
}

// fromCatwalk turns a catwalk model into a models.dev entry. catwalk's
// "in cached" price is the cache write, "out cached" the cache read.
// Reasoning models of OpenAI's o-series and GPT-5 take no temperature.
func fromCatwalk(m catwalkModel) map[string]any {
	input := []string{"text"}
	if m.SupportsAttachments {
		input = append(input, "image")
	}
	lower := strings.ToLower(m.ID)
	noTemp := m.CanReason && (strings.Contains(lower, "gpt-5") || slices.ContainsFunc([]string{"o1", "o3", "o4"}, func(p string) bool {
		return strings.HasPrefix(lower, p) || strings.Contains(lower, "/"+p)
	}))
	cost := map[string]any{"input": m.CostIn, "output": m.CostOut}
	if m.CostOutCached > 0 {
		cost["cache_read"] = m.CostOutCached
	}
	if m.CostInCached > 0 {
		cost["cache_write"] = m.CostInCached
	}
	return map[string]any{
		"id": m.ID, "name": m.Name, "attachment": m.SupportsAttachments, "reasoning": m.CanReason,
		"temperature": !noTemp, "tool_call": true, "release_date": "",
		"modalities": map[string]any{"input": input, "output": []string{"text"}},
		"cost":       cost,
		"limit":      map[string]any{"context": m.ContextWindow, "output": m.DefaultMaxTokens},
	}
}

// encode writes one provider header per line and one model per line, so
// a regenerated catalog diffs model by model.
func encode(cat map[string]map[string]any) []byte {
	var b bytes.Buffer
	ids := make([]string, 0, len(cat))
	for id := range cat {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	b.WriteString("{\n")
	for i, id := range ids {
		p := cat[id]
		models, _ := p["models"].(map[string]any)
		head := map[string]any{}
		for k, v := range p {
			if k != "models" {
				head[k] = v
			}
		}
		h, _ := json.Marshal(head)
		k, _ := json.Marshal(id)
		fmt.Fprintf(&b, "%s: %s\n", k, strings.TrimSuffix(string(h), "}")+`,"models":{`)
		mids := make([]string, 0, len(models))
		for mid := range models {
			mids = append(mids, mid)
		}
		slices.Sort(mids)
		for j, mid := range mids {
			mk, _ := json.Marshal(mid)
			mv, _ := json.Marshal(models[mid])
			sep := ","
			if j == len(mids)-1 {
				sep = ""
			}
			fmt.Fprintf(&b, "  %s: %s%s\n", mk, mv, sep)
		}
		sep := ","
		if i == len(ids)-1 {
			sep = ""
		}
		fmt.Fprintf(&b, "}}%s\n", sep)
	}
	b.WriteString("}\n")
	return b.Bytes()
}
