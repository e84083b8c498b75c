package snapshot

import "strings"

// attrsRewriteContent reports whether a .gitattributes file may make the
// index hold filtered content (eol conversion, filters), in which case the
// project's index hashes cannot be reused for the raw bytes we store.
func attrsRewriteContent(data []byte) bool {
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		fields := strings.Fields(line)
		for _, a := range fields[1:] {
			switch {
			case a == "text", strings.HasPrefix(a, "text="), strings.HasPrefix(a, "eol="),
				a == "crlf", strings.HasPrefix(a, "filter="), a == "ident",
				strings.HasPrefix(a, "working-tree-encoding="):
				return true
			}
		}
	}
	return false
}
