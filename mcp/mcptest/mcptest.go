// Package mcptest is a small MCP server written with the official SDK, for
// tests: a test binary re-executes itself as the server (Main), or serves
// it over streamable HTTP (Handler). It is imported by tests only.
//
// Tools: echo {text} answers "echo: <text>"; media answers text, an image,
// an embedded text resource and a resource link; fail answers isError;
// hang never answers; crash exits the process; spawn starts a grandchild
// process (sleep) and answers its pid.
package mcptest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// EnvMode names the environment variable that makes a test binary act as
// the server: "stdio" serves over stdin/stdout, "silent" reads stdin and
// never answers.
const EnvMode = "OCGO_MCPTEST"

// NewServer returns the test server.
func NewServer() *sdk.Server {
	s := sdk.NewServer(&sdk.Implementation{Name: "mcptest", Version: "1"}, nil)
	type echoIn struct {
		Text string `json:"text" jsonschema:"the text to echo"`
	}
	sdk.AddTool(s, &sdk.Tool{Name: "echo", Description: "Echo the text back"}, func(_ context.Context, _ *sdk.CallToolRequest, in echoIn) (*sdk.CallToolResult, any, error) {
		return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: "echo: " + in.Text + " (" + os.Getenv("MCPTEST_GREETING") + ")"}}}, nil, nil
	})
	type none struct{}
	sdk.AddTool(s, &sdk.Tool{Name: "media-kinds", Description: "Answer with every kind of content"}, func(context.Context, *sdk.CallToolRequest, none) (*sdk.CallToolResult, any, error) {
		return &sdk.CallToolResult{Content: []sdk.Content{
			&sdk.TextContent{Text: "first"},
			&sdk.ImageContent{MIMEType: "image/png", Data: []byte("\x89PNG fake")},
			&sdk.EmbeddedResource{Resource: &sdk.ResourceContents{URI: "file:///notes.txt", MIMEType: "text/plain", Text: "resource text"}},
			&sdk.ResourceLink{URI: "https://example.invalid/doc", Name: "doc"},
		}}, nil, nil
	})
	sdk.AddTool(s, &sdk.Tool{Name: "fail", Description: "Always fails"}, func(context.Context, *sdk.CallToolRequest, none) (*sdk.CallToolResult, any, error) {
		return &sdk.CallToolResult{IsError: true, Content: []sdk.Content{&sdk.TextContent{Text: "it broke"}}}, nil, nil
	})
	sdk.AddTool(s, &sdk.Tool{Name: "hang", Description: "Never answers"}, func(context.Context, *sdk.CallToolRequest, none) (*sdk.CallToolResult, any, error) {
		select {}
	})
	sdk.AddTool(s, &sdk.Tool{Name: "crash", Description: "Exits the server"}, func(context.Context, *sdk.CallToolRequest, none) (*sdk.CallToolResult, any, error) {
		os.Exit(3)
		return nil, nil, nil
	})
	sdk.AddTool(s, &sdk.Tool{Name: "spawn", Description: "Start a grandchild process"}, func(context.Context, *sdk.CallToolRequest, none) (*sdk.CallToolResult, any, error) {
		cmd := exec.Command("sleep", "300")
		if err := cmd.Start(); err != nil {
			return nil, nil, err
		}
		return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: strconv.Itoa(cmd.Process.Pid)}}}, nil, nil
	})
	return s
}

// Main serves according to the mode and returns when stdin closes.
func Main(mode string) {
	switch mode {
	case "silent":
		_, _ = io.Copy(io.Discard, os.Stdin)
	default:
		if err := NewServer().Run(context.Background(), &sdk.StdioTransport{}); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
}

// Handler serves the test server over streamable HTTP.
func Handler() http.Handler {
	s := NewServer()
	return sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return s }, nil)
}

// SSEHandler serves the test server over the legacy SSE transport.
func SSEHandler() http.Handler {
	s := NewServer()
	return sdk.NewSSEHandler(func(*http.Request) *sdk.Server { return s }, nil)
}
