package tool

import (
	"embed"
	"strconv"
	"strings"
)

// The tools' descriptions live in descriptions/<tool>.txt, in ocgo's own
// words, so they can be read and reviewed as text. {name} placeholders
// stand for limits that depend on constants or options.
//
//go:embed descriptions/*.txt
var descriptions embed.FS

// describe returns a tool's description with its placeholders filled.
func describe(name string, vals map[string]any) string {
	data, err := descriptions.ReadFile("descriptions/" + name + ".txt")
	if err != nil {
		panic("tool: no description for " + name) // caught by the tests
	}
	pairs := make([]string, 0, 2*len(vals))
	for k, v := range vals {
		var s string
		switch v := v.(type) {
		case string:
			s = v
		case int:
			s = strconv.Itoa(v)
		case int64:
			s = strconv.FormatInt(v, 10)
		default:
			panic("tool: placeholder type")
		}
		pairs = append(pairs, "{"+k+"}", s)
	}
	return strings.TrimSpace(strings.NewReplacer(pairs...).Replace(string(data)))
}
