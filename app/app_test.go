package app

import (
	"slices"
	"testing"
)

func TestAllowedHostsForWildcardBind(t *testing.T) {
	if got := allowedHosts("127.0.0.1", []string{"dev.local"}); !slices.Equal(got, []string{"127.0.0.1", "dev.local"}) {
		t.Errorf("loopback bind: %v", got)
	}
	got := allowedHosts("0.0.0.0", nil)
	if len(got) < 3 || !slices.Contains(got, "127.0.0.1") {
		t.Errorf("wildcard bind should add the hostname and interface addresses: %v", got)
	}
}

func TestSlugAndProjectDiscovery(t *testing.T) {
	dir := t.TempDir()
	p := FindProject(dir)
	if p.Git || p.Root != dir || p.Slug == "" || p.Slug == "global" {
		t.Errorf("non-git project: %+v", p)
	}
	if got := FindProject("/home/me/my.app").Slug; got != "home-me-my-app" {
		t.Errorf("slug %q, want home-me-my-app", got)
	}
}
