package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestHitReadsWholeAnswers drives the hit client against net/http's server:
// a Content-Length body and a chunked one are read to their last byte, on
// one kept-alive connection, and anything but 200 is an error.
func TestHitReadsWholeAnswers(t *testing.T) {
	body := strings.Repeat("0123456789abcdef", 6400) // 100 KB, larger than the read buffer
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host == "" || r.Method != http.MethodGet {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		switch r.URL.Path {
		case "/length":
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			_, _ = w.Write([]byte(body))
		case "/chunked":
			for i := 0; i < len(body); i += 7000 {
				_, _ = w.Write([]byte(body[i:min(i+7000, len(body))]))
				w.(http.Flusher).Flush()
			}
		default:
			http.NotFound(w, r)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	for _, path := range []string{"/length", "/chunked"} {
		conns.Store(0)
		c, err := newHitClient(srv.URL+path, time.Now().Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			n, err := c.get()
			if err != nil {
				t.Fatalf("%s, request %d: %v", path, i, err)
			}
			if n != len(body) {
				t.Fatalf("%s, request %d: read %d body bytes, want %d", path, i, n, len(body))
			}
		}
		c.close()
		if got := conns.Load(); got != 1 {
			t.Errorf("%s: 3 requests used %d connections, want 1 (keep-alive)", path, got)
		}
	}

	c, err := newHitClient(srv.URL+"/missing", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	if _, err := c.get(); err == nil || !strings.Contains(err.Error(), "status 404") {
		t.Fatalf("GET /missing: err %v, want status 404", err)
	}
}

// rawServer answers each connection with fn, which reads requests from br
// and writes what it likes to conn.
func rawServer(t *testing.T, fn func(conn net.Conn, br *bufio.Reader)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer func() { _ = conn.Close() }()
				fn(conn, bufio.NewReader(conn))
			}()
		}
	}()
	return "http://" + ln.Addr().String() + "/session"
}

// readRequest reads one request's head.
func readRequest(br *bufio.Reader) error {
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return err
		}
		if line == "\r\n" {
			return nil
		}
	}
}

// TestHitRefusesShortBodies: an answer cut before its Content-Length or
// before its last chunk is an error, never a measured request.
func TestHitRefusesShortBodies(t *testing.T) {
	for name, answer := range map[string]string{
		"length":  "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + strings.Repeat("x", 50),
		"chunked": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n",
		"nolen":   "HTTP/1.1 200 OK\r\n\r\nbody until close",
	} {
		url := rawServer(t, func(conn net.Conn, br *bufio.Reader) {
			if readRequest(br) == nil {
				_, _ = conn.Write([]byte(answer))
			}
		})
		c, err := newHitClient(url, time.Now().Add(10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if n, err := c.get(); err == nil {
			t.Errorf("%s: a cut answer was read as complete (%d bytes)", name, n)
		}
		c.close()
	}
}

// TestHitReconnects: an answer with Connection: close, and a kept-alive
// connection the server closed while idle, both lead to a new connection
// for the next request instead of an error.
func TestHitReconnects(t *testing.T) {
	var conns atomic.Int32
	url := rawServer(t, func(conn net.Conn, br *bufio.Reader) {
		n := conns.Add(1)
		if readRequest(br) != nil {
			return
		}
		hdr := ""
		if n == 1 {
			hdr = "Connection: close\r\n"
		}
		// Connection 2 answers once without saying it will close, then
		// closes: the next request on it finds it gone.
		_, _ = conn.Write([]byte("HTTP/1.1 200 OK\r\n" + hdr + "Content-Length: 2\r\n\r\nok"))
	})
	c, err := newHitClient(url, time.Now().Add(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	for i := range 3 {
		if n, err := c.get(); err != nil || n != 2 {
			t.Fatalf("request %d: %d bytes, %v", i, n, err)
		}
		time.Sleep(20 * time.Millisecond) // let the server's close arrive
	}
	if got := conns.Load(); got != 3 {
		t.Errorf("3 requests used %d connections, want 3", got)
	}
}

// TestHitStatusOutlivesLongHeaders: the status an error names is the
// answer's, even when its headers are longer than the read buffer (which
// then moves what it holds over the status line).
func TestHitStatusOutlivesLongHeaders(t *testing.T) {
	pad := "X-Pad: " + strings.Repeat("x", 30000) + "\r\n"
	answer := "HTTP/1.1 503 Service Unavailable\r\n" + strings.Repeat(pad, 4) + "Content-Length: 0\r\n\r\n"
	_, _, err := readAnswer(bufio.NewReaderSize(strings.NewReader(answer), 64<<10))
	if err == nil || err.Error() != "status 503" {
		t.Fatalf("err %v, want status 503", err)
	}
}
