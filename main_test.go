package main

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
	p := findProject(dir)
	if p.git || p.root != dir || p.slug == "" || p.slug == "global" {
		t.Errorf("non-git project: %+v", p)
	}
	if got := findProject("/home/me/my.app").slug; got != "home-me-my-app" {
		t.Errorf("slug %q, want home-me-my-app", got)
	}
}
