package main

import (
	"fmt"
	"io"

	"ocgo/storage"
)

// reportImport tells what an import created.
func reportImport(sess storage.Session, f cliFlags, stdout, stderr io.Writer) error {
	if f.json {
		return writeJSON(stdout, sess)
	}
	fmt.Fprintf(stderr, "ocgo: imported session %s (%s)\n", sess.ID, sess.Title)
	fmt.Fprintln(stdout, sess.ID)
	return nil
}
