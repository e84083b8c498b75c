package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"ocgo/app"
	"ocgo/config"
	"ocgo/oauth"
)

// authCommand is `ocgo auth login github-copilot`: GitHub's device flow,
// as opencode's Copilot login runs it, storing the GitHub token in
// <data>/auth.json as an "oauth" entry; the Copilot access token is
// fetched (and renewed) on first use. OCGO_GITHUB_URL replaces
// https://github.com (tests point it at a loopback fake).
func authCommand(args []string, env func(string) string, stdout io.Writer) error {
	if len(args) != 2 || args[0] != "login" || args[1] != "github-copilot" {
		return fmt.Errorf("usage: ocgo auth login github-copilot (API keys: PUT /auth/:id or an environment variable)")
	}
	dataRoot := env("OCGO_DATA_DIR")
	if dataRoot == "" {
		dataRoot = app.DataRoot(env)
	}
	flow := oauth.CopilotDeviceFlow()
	if gh := strings.TrimRight(env("OCGO_GITHUB_URL"), "/"); gh != "" {
		flow.CodeURL = gh + "/login/device/code"
		flow.TokenURL = gh + "/login/oauth/access_token"
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	store := config.NewAuthStore(filepath.Join(dataRoot, "auth.json"))
	err := flow.Login(ctx, store, "github-copilot", func(code, uri string) {
		fmt.Fprintf(stdout, "Open %s and enter the code %s\nWaiting for authorization...\n", uri, code)
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "Logged in to GitHub Copilot.")
	return nil
}
