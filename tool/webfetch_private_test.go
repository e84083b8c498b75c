package tool

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestPrivateAddr(t *testing.T) {
	for s, want := range map[string]bool{
		"127.0.0.1": true, "::1": true, "10.1.2.3": true, "192.168.0.1": true, "172.16.5.4": true,
		"169.254.169.254": true, "fe80::1": true, "fc00::1": true, "0.0.0.0": true, "::": true,
		"100.64.1.1": true, "::ffff:127.0.0.1": true, "0.1.2.3": true,
		"93.184.216.34": false, "2606:4700::1111": false, "8.8.8.8": false,
	} {
		if got := privateAddr(netip.MustParseAddr(s)); got != want {
			t.Errorf("privateAddr(%s) = %v, want %v", s, got, want)
		}
	}
}

// F5: by default webfetch cannot reach loopback (ocgo's own API), by name
// or by address, nor be redirected there; the opt-in allows it.
func TestWebfetchRefusesPrivateAddresses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("internal"))
	}))
	defer srv.Close()
	for _, u := range []string{srv.URL, "http://localhost:" + srv.Listener.Addr().(interface{ String() string }).String()[len("127.0.0.1:"):]} {
		_, err := fetchClient(false).Get(u)
		if !errors.Is(err, ErrPrivateAddress) {
			t.Errorf("GET %s: %v, want ErrPrivateAddress", u, err)
		}
	}
	res, err := fetchClient(true).Get(srv.URL)
	if err != nil {
		t.Fatalf("allowed: %v", err)
	}
	if err := res.Body.Close(); err != nil {
		t.Fatal(err)
	}

	e := newEnv(t)
	_, err = tool(t, "webfetch", Options{}).Run(t.Context(), Call{SessionID: "s", Input: []byte(`{"url":"` + srv.URL + `","format":"text"}`)}, e)
	if !errors.Is(err, ErrDenied) || !errors.Is(err, ErrPrivateAddress) {
		t.Errorf("webfetch tool: %v", err)
	}
}
