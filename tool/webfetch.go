package tool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

type webfetchTool struct{ client *http.Client }

// ErrPrivateAddress means webfetch refused to connect to a loopback,
// private or link-local address.
var ErrPrivateAddress = errors.New("webfetch to loopback, private and link-local addresses is off (OCGO_WEBFETCH_PRIVATE=1 allows it)")

// fetchClient is webfetch's default client. Unless allowPrivate, every
// connection (the first one, each redirect's, whatever DNS answered) is
// checked against the address actually dialled, so neither a redirect nor a
// rebinding DNS name reaches ocgo's own API, the LAN or cloud metadata.
// Environment proxies are not used: the check must see the real target.
func fetchClient(allowPrivate bool) *http.Client {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		d.Control = func(network, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			ip, err := netip.ParseAddr(host)
			if err != nil || privateAddr(ip) {
				return ErrPrivateAddress
			}
			return nil
		}
	}
	tr := &http.Transport{DialContext: d.DialContext, ForceAttemptHTTP2: true, TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConns: 10, IdleConnTimeout: 90 * time.Second}
	return &http.Client{Transport: tr, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}}
}

// cgnat is the shared address space (RFC 6598), private in practice.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// privateAddr reports addresses webfetch must not reach by default.
func privateAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast() || cgnat.Contains(ip) ||
		(ip.Is4() && ip.As4()[0] == 0)
}

const (
	defaultFetchTimeout = 30 * time.Second
	maxFetchTimeout     = 120 * time.Second
)

func (*webfetchTool) Info() Info {
	return Info{
		Name:        "webfetch",
		Description: describe("webfetch", map[string]any{"default_fetch_timeout": int(defaultFetchTimeout.Seconds()), "max_fetch_timeout": int(maxFetchTimeout.Seconds()), "max_fetch_mb": MaxFetchBytes >> 20}),
		Parameters: map[string]any{
			"url":     map[string]any{"type": "string", "description": "The URL to fetch content from"},
			"format":  map[string]any{"type": "string", "enum": []string{"text", "markdown", "html"}, "description": "The format to return the content in (text, markdown, or html)"},
			"timeout": map[string]any{"type": "number", "description": "Optional timeout in seconds (max 120)"},
		},
		Required: []string{"url", "format"},
	}
}

type webfetchInput struct {
	URL     string `json:"url"`
	Format  string `json:"format"`
	Timeout number `json:"timeout"`
}

func (t *webfetchTool) Run(ctx context.Context, call Call, env Env) (Result, error) {
	var in webfetchInput
	if err := decode(call.Input, &in); err != nil {
		return Result{}, err
	}
	u, err := url.Parse(in.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Result{}, fmt.Errorf("%w: URL must start with http:// or https://", ErrInvalidInput)
	}
	switch in.Format {
	case "text", "markdown", "html":
	default:
		return Result{}, fmt.Errorf("%w: format must be text, markdown or html", ErrInvalidInput)
	}
	timeout := defaultFetchTimeout
	if in.Timeout.set && in.Timeout.v > 0 {
		timeout = min(time.Duration(in.Timeout.v*float64(time.Second)), maxFetchTimeout)
	}
	if err := checkPermission(ctx, env, call, "webfetch", in.URL, Permission{
		Type:     "webfetch",
		Pattern:  in.URL,
		Title:    "Fetch content from: " + in.URL,
		Metadata: map[string]any{"url": in.URL, "format": in.Format, "timeout": timeout.Seconds()},
	}); err != nil {
		return Result{}, err
	}

	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	req.Header.Set("User-Agent", "Mozilla/5.0 (compatible; ocgo webfetch)")
	switch in.Format {
	case "markdown":
		req.Header.Set("Accept", "text/markdown;q=1.0, text/x-markdown;q=0.9, text/plain;q=0.8, text/html;q=0.7, */*;q=0.1")
	case "text":
		req.Header.Set("Accept", "text/plain;q=1.0, text/markdown;q=0.9, text/html;q=0.8, */*;q=0.1")
	default:
		req.Header.Set("Accept", "text/html;q=1.0, application/xhtml+xml;q=0.9, text/plain;q=0.8, */*;q=0.1")
	}
	resp, err := t.client.Do(req)
	if errors.Is(err, ErrPrivateAddress) {
		return Result{}, fmt.Errorf("%w: %w", ErrDenied, ErrPrivateAddress)
	}
	if err != nil {
		return Result{}, fmt.Errorf("fetch: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return Result{}, fmt.Errorf("request failed with status code: %d", resp.StatusCode)
	}
	if resp.ContentLength > MaxFetchBytes {
		return Result{}, fmt.Errorf("%w: exceeds 5MB limit", ErrTooLarge)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxFetchBytes+1))
	if err != nil {
		return Result{}, fmt.Errorf("read response: %w", err)
	}
	if len(body) > MaxFetchBytes {
		return Result{}, fmt.Errorf("%w: exceeds 5MB limit", ErrTooLarge)
	}
	ctype := resp.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ctype)
	isHTML := mt == "text/html" || mt == "application/xhtml+xml"
	content := string(body)
	switch {
	case in.Format == "markdown" && isHTML:
		content = HTMLToMarkdown(content)
	case in.Format == "text" && isHTML:
		content = HTMLToText(content)
	}
	return Result{
		Title:    fmt.Sprintf("%s (%s)", in.URL, ctype),
		Output:   strings.ToValidUTF8(content, "\uFFFD"),
		Metadata: map[string]any{},
	}, nil
}
