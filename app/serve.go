package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// Listen is where and how Serve listens.
type Listen struct {
	Hostname     string   // address to bind
	Port         int      // 0 picks a free one
	AllowHosts   []string // Host header values accepted besides loopback names and the bind address
	InsecureBind bool     // allow a non-loopback bind without a password
}

// Serve builds an App from c, serves it on l until ctx is done, then shuts
// it down: SSE streams and long-polls end, requests in flight get a moment
// to finish, and the App closes. Once listening it prints opencode's ready
// line on stdout and records the address next to the data lock, where the
// session sub-commands find it.
func Serve(ctx context.Context, c Config, l Listen, stdout io.Writer) error {
	c = c.withDefaults()
	logger := c.Logger
	if err := checkBind(l, c.Password, logger); err != nil {
		return err
	}
	c.AllowedHosts = allowedHosts(l.Hostname, l.AllowHosts)
	a, err := New(c)
	if err != nil {
		return err
	}
	defer a.Close()

	ln, err := net.Listen("tcp", net.JoinHostPort(l.Hostname, strconv.Itoa(l.Port)))
	if err != nil {
		return err
	}
	httpSrv := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- httpSrv.Serve(ln) }()
	addr := ln.Addr().(*net.TCPAddr)
	host := l.Hostname
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	fmt.Fprintf(stdout, "opencode server listening on http://%s:%d\n", host, addr.Port)
	// The session commands find the running server through the lock file.
	if err := a.store.RecordAddress(localURL(l.Hostname, addr.Port)); err != nil {
		logger.Warn("Could not record the listen address next to the data lock", "err", err)
	}
	logger.Info("Serving", "project", a.paths.Project.Cwd, "data", a.paths.ProjectData)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("Shutting down")
	a.Shutdown() // ends SSE streams and TUI long-polls
	// Requests in flight get a moment to finish (writes are durable when a
	// handler returns); idle keep-alive connections are not waited for.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := httpSrv.Shutdown(shutdownCtx); err != nil {
		return httpSrv.Close()
	}
	return nil
}

// checkBind refuses a bind beyond loopback without a password (checklist
// A2, opencode#38857): anyone who reaches the port could run commands
// through the shell route and the agent. --insecure-bind overrides it, with
// a warning in the log.
func checkBind(l Listen, password string, logger *slog.Logger) error {
	if isLoopback(l.Hostname) || password != "" {
		return nil
	}
	if !l.InsecureBind {
		return fmt.Errorf("refusing to bind %s without OPENCODE_SERVER_PASSWORD: anyone on the network could run commands; set a password or pass --insecure-bind", l.Hostname)
	}
	logger.Warn("INSECURE: serving beyond loopback without a password (--insecure-bind): anyone who can reach this port can read the project and run commands", "hostname", l.Hostname)
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// localURL is the address a process on this machine uses to reach a
// server bound to hostname:port (a wildcard bind is reached on loopback).
func localURL(hostname string, port int) string {
	host := hostname
	if ip := net.ParseIP(strings.Trim(host, "[]")); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
		if ip.To4() == nil {
			host = "::1"
		}
	}
	return "http://" + net.JoinHostPort(strings.Trim(host, "[]"), strconv.Itoa(port))
}

// allowedHosts are the Host header values accepted besides loopback names:
// the bound address, the --allow-host list, and, for a wildcard bind
// (0.0.0.0 or ::), this machine's name and interface addresses, the names
// a client on the network can legitimately use.
func allowedHosts(bind string, extra []string) []string {
	hosts := append([]string{bind}, extra...)
	if ip := net.ParseIP(strings.Trim(bind, "[]")); ip == nil || !ip.IsUnspecified() {
		return hosts
	}
	if name, err := os.Hostname(); err == nil {
		hosts = append(hosts, name)
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			hosts = append(hosts, n.IP.String())
		}
	}
	return hosts
}
