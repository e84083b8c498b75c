package provider

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"ocgo/config"
)

type recordTransport struct{ urls []string }

func (rt *recordTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.urls = append(rt.urls, r.URL.String()+" api-key="+r.Header.Get("api-key"))
	return &http.Response{StatusCode: 401, Header: http.Header{"Content-Type": {"application/json"}}, Request: r,
		Body: io.NopCloser(strings.NewReader(`{"error":{"code":"401","message":"denied"}}`))}, nil
}

// The azure provider builds its endpoint from the resource name, as the
// AI SDK's Azure provider does, and sends AZURE_API_KEY (not the
// resource name, the first of its env variables) as api-key.
func TestAzureEndpointFromResourceName(t *testing.T) {
	for _, c := range []struct {
		opts map[string]any
		want string
	}{
		{nil, "https://my-res.openai.azure.com/openai/v1/responses?api-version=v1 api-key=az-key"},
		{map[string]any{"apiVersion": "preview"}, "https://my-res.openai.azure.com/openai/v1/responses?api-version=preview api-key=az-key"},
		{map[string]any{"useDeploymentBasedUrls": true}, "https://my-res.openai.azure.com/openai/deployments/gpt-4.1/responses?api-version=v1 api-key=az-key"},
	} {
		rt := &recordTransport{}
		env := map[string]string{"AZURE_RESOURCE_NAME": "my-res", "AZURE_API_KEY": "az-key"}
		reg, _ := NewRegistry(Source{Env: func(k string) string { return env[k] }, HTTPClient: &http.Client{Transport: rt},
			Config: map[string]config.ProviderConfig{"azure": {Options: c.opts}}, Retry: &RetryPolicy{}}, nil)
		res, err := reg.Model(context.Background(), "azure", "gpt-4.1")
		if err != nil {
			t.Fatal(err)
		}
		stream, err := res.LM.Stream(context.Background(), userCall("hi"))
		if err == nil {
			for range stream {
			}
		}
		if len(rt.urls) != 1 || rt.urls[0] != c.want {
			t.Errorf("requests %v, want %s", rt.urls, c.want)
		}
	}
}
