package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"ocgo/app"
	"ocgo/session"
	"ocgo/storage"
)

// remoteCLI sends a writing sub-command to the `ocgo serve` that holds the
// project's data lock, as the same HTTP call a client would make, so the
// server stays the only writer and its clients see the change on SSE.
type remoteCLI struct {
	base       string
	user, pass string
	client     *http.Client
}

// remoteFor returns a client for the server holding cfg's project data, or
// nil when the holder recorded no address (an older ocgo, or another
// sub-command holding the lock).
func remoteFor(cfg app.Config, env func(string) string) *remoteCLI {
	b, err := app.ResolvePaths(cfg)
	if err != nil {
		return nil
	}
	addr := storage.HolderAddress(b.ProjectData)
	if !strings.HasPrefix(addr, "http://") {
		return nil
	}
	user := env("OPENCODE_SERVER_USERNAME")
	if user == "" {
		user = "opencode"
	}
	// Revert and import can take a while on a large tree; no prompt runs here.
	return &remoteCLI{base: addr, user: user, pass: env("OPENCODE_SERVER_PASSWORD"), client: &http.Client{Timeout: 5 * time.Minute}}
}

// remoteError is an error answer of the server, in opencode's shape.
type remoteError struct {
	Status int
	Name   string
	Data   map[string]any
}

func (e *remoteError) Error() string {
	msg, _ := e.Data["message"].(string)
	return fmt.Sprintf("the running server answered %d %s: %s", e.Status, e.Name, msg)
}

// call sends body (nil, []byte of JSON, or a value to encode) and decodes
// the answer into out.
func (r *remoteCLI) call(method, path string, body any, out any) error {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, r.base+path, rd)
	if err != nil {
		return err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.pass != "" {
		req.SetBasicAuth(r.user, r.pass)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return fmt.Errorf("the project's data is held by an ocgo serve at %s, which did not answer: %w", r.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		e := &remoteError{Status: resp.StatusCode}
		if json.Unmarshal(data, e) != nil || e.Name == "" {
			e.Name, e.Data = "Error", map[string]any{"message": strings.TrimSpace(string(data))}
		}
		return e
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}

// run performs a writing sub-command through the server.
func (r *remoteCLI) run(cmd string, f cliFlags, stdout, stderr io.Writer) error {
	fmt.Fprintf(stderr, "ocgo: an ocgo serve holds this project's data; asking it at %s\n", r.base)
	var sess storage.Session
	switch cmd {
	case "revert":
		if f.dryRun {
			q := url.Values{"messageID": {f.args[1]}}
			if len(f.args) > 2 {
				q.Set("partID", f.args[2])
			}
			var pv session.RevertPreview
			if err := r.call("GET", "/session/"+f.args[0]+"/revert?"+q.Encode(), nil, &pv); err != nil {
				return err
			}
			return printPreview(f, pv, stdout, stderr)
		}
		body := map[string]string{"messageID": f.args[1]}
		if len(f.args) > 2 {
			body["partID"] = f.args[2]
		}
		if err := r.call("POST", "/session/"+f.args[0]+"/revert", body, &sess); err != nil {
			if e, ok := err.(*remoteError); ok && e.Name == "ConflictError" {
				return fmt.Errorf("revert refused: %v\nThese files were edited after the agent wrote them; save or undo those edits first", e.Data["files"])
			}
			return err
		}
		if f.json {
			return writeJSON(stdout, sess)
		}
		fmt.Fprintf(stderr, "ocgo: session %s %s; `ocgo unrevert %s` puts the changes back\n", sess.ID, revertState(sess.Revert), sess.ID)
		if sess.Revert != nil {
			_, err := io.WriteString(stdout, sess.Revert.Diff)
			return err
		}
		return nil
	case "unrevert":
		if err := r.call("POST", "/session/"+f.args[0]+"/unrevert", nil, &sess); err != nil {
			return err
		}
		if f.json {
			return writeJSON(stdout, sess)
		}
		fmt.Fprintf(stderr, "ocgo: session %s unreverted\n", sess.ID)
		return nil
	case "import":
		data, err := os.ReadFile(f.args[0])
		if err != nil {
			return err
		}
		path := "/session/import"
		if f.newIDs {
			path += "?newIDs=true"
		}
		if err := r.call("POST", path, data, &sess); err != nil {
			return err
		}
		return reportImport(sess, f, stdout, stderr)
	}
	return fmt.Errorf("%s cannot be sent to a running server", cmd)
}
