package tool

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Every tool's description names each of its parameters and states its
// limits, with no placeholder left unfilled.
func TestDescriptionsStateParametersAndLimits(t *testing.T) {
	opts := Options{BashTimeout: 90 * time.Second, OutputCap: 12345,
		Agents: func() []AgentInfo { return []AgentInfo{{Name: "general", Description: "Does research"}} }}
	limits := map[string][]string{
		"bash":      {"90000", strconv.FormatInt(MaxBashTimeout.Milliseconds(), 10), "12345", "milliseconds", "git commit", "gh pr create", "double quotes"},
		"read":      {strconv.Itoa(DefaultReadLimit), strconv.Itoa(MaxLineLength), "0-based", "Binary"},
		"glob":      {strconv.Itoa(ResultLimit), ".gitignore"},
		"grep":      {strconv.Itoa(ResultLimit), "RE2"},
		"list":      {strconv.Itoa(ResultLimit), "node_modules"},
		"webfetch":  {"30", "120", "5 MB", "seconds"},
		"edit":      {"more than once", "read tool"},
		"write":     {"read tool"},
		"task":      {"general: Does research"},
		"todowrite": {"three or more", "in_progress", "When not to"},
		"patch":     {"*** Begin Patch", "no file changes"},
	}
	leftover := regexp.MustCompile(`\{[a-z_]+\}`)
	seen := map[string]bool{}
	for _, tl := range Registry(opts) {
		info := tl.Info()
		if info.Name == "invalid" {
			continue
		}
		seen[info.Name] = true
		d := info.Description
		if len(d) < 300 {
			t.Errorf("%s: description too thin (%d chars)", info.Name, len(d))
		}
		if m := leftover.FindString(d); m != "" {
			t.Errorf("%s: placeholder %s left", info.Name, m)
		}
		params := []string{}
		for p := range info.Parameters {
			params = append(params, p)
		}
		if info.Name == "todowrite" {
			params = append(params, "content", "status", "priority", "id")
		}
		for _, p := range params {
			if !strings.Contains(d, p) {
				t.Errorf("%s: description does not mention parameter %q", info.Name, p)
			}
		}
		for _, l := range limits[info.Name] {
			if !strings.Contains(d, l) {
				t.Errorf("%s: description does not state %q", info.Name, l)
			}
		}
	}
	for name := range limits {
		if !seen[name] {
			t.Errorf("tool %s not in the registry", name)
		}
	}
}
