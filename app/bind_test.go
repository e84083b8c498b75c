package app

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestCheckBind is checklist A2 (opencode#38857): loopback binds start
// without a password; any other bind is refused, naming the password
// variable and the opt-out flag, unless a password is set or
// --insecure-bind is given, which starts with a warning in the log.
func TestCheckBind(t *testing.T) {
	for _, c := range []struct {
		host     string
		password string
		insecure bool
		refused  bool
		warned   bool
	}{
		{host: "127.0.0.1"},
		{host: "127.0.0.2"},
		{host: "::1"},
		{host: "[::1]"},
		{host: "localhost"},
		{host: "::ffff:127.0.0.1"},
		{host: "0.0.0.0", refused: true},
		{host: "::", refused: true},
		{host: "[::]", refused: true},
		{host: "192.168.1.20", refused: true},
		{host: "10.0.0.1", refused: true},
		{host: "fe80::1", refused: true},
		{host: "myhost.example", refused: true},
		{host: "localhost.example", refused: true},
		{host: "", refused: true}, // every interface
		{host: "0.0.0.0", password: "pw"},
		{host: "myhost.example", password: "pw"},
		{host: "0.0.0.0", insecure: true, warned: true},
		{host: "192.168.1.20", insecure: true, warned: true},
		{host: "127.0.0.1", insecure: true},
	} {
		var logs bytes.Buffer
		logger := slog.New(slog.NewTextHandler(&logs, nil))
		err := checkBind(Listen{Hostname: c.host, InsecureBind: c.insecure}, c.password, logger)
		if refused := err != nil; refused != c.refused {
			t.Errorf("%q password=%v insecure=%v: err %v, want refused=%v", c.host, c.password != "", c.insecure, err, c.refused)
			continue
		}
		if err != nil && (!strings.Contains(err.Error(), "OPENCODE_SERVER_PASSWORD") || !strings.Contains(err.Error(), "--insecure-bind")) {
			t.Errorf("%q: the refusal does not name the password variable and the flag: %v", c.host, err)
		}
		if warned := strings.Contains(logs.String(), "INSECURE"); warned != c.warned {
			t.Errorf("%q insecure=%v: warned=%v, want %v (%s)", c.host, c.insecure, warned, c.warned, logs.String())
		}
	}
}
