package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"time"
)

// hitClient is one keep-alive client of `load hit`: one TCP connection at a
// time, the request's bytes built once, one read buffer reused for every
// answer. It sends a request, reads the whole answer and only then sends the
// next, as a keep-alive HTTP/1.1 client does, but without net/http's
// per-request goroutine hand-offs, header maps and allocations, so the
// generator leaves the shared cores to the server it measures. It still
// reads every answer to its end: the status must be 200 and the body must be
// complete (all of its Content-Length, or every chunk up to the last).
type hitClient struct {
	addr     string
	req      []byte
	deadline time.Time // of the whole run
	conn     net.Conn
	br       *bufio.Reader
	used     bool // the connection has carried an answer (so it may have been closed idle)
}

// newHitClient prepares GET requests for rawURL (http only).
func newHitClient(rawURL string, deadline time.Time) (*hitClient, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("hit: %q is not an http:// URL", rawURL)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	req := "GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host + "\r\nUser-Agent: ocgo-bench-load\r\n\r\n"
	return &hitClient{addr: addr, req: []byte(req), deadline: deadline, br: bufio.NewReaderSize(nil, 64<<10)}, nil
}

// get sends one request and reads its whole answer, returning the body's
// size. A request that finds its kept-alive connection closed before any
// byte of the answer came back is sent again once on a new connection.
func (c *hitClient) get() (int, error) {
	for attempt := 0; ; attempt++ {
		reused := c.used
		if c.conn == nil {
			conn, err := net.DialTimeout("tcp", c.addr, 10*time.Second)
			if err != nil {
				return 0, err
			}
			if !c.deadline.IsZero() {
				_ = conn.SetDeadline(c.deadline) // set once: a per-request deadline would cost timer work
			}
			c.conn, c.used, reused = conn, false, false
			c.br.Reset(conn)
		}
		n, keep, started, err := c.roundTrip()
		if err == nil {
			c.used = true
			if !keep {
				c.close()
			}
			return n, nil
		}
		c.close()
		if reused && !started && attempt == 0 {
			continue
		}
		return 0, err
	}
}

func (c *hitClient) roundTrip() (n int, keep, started bool, err error) {
	if _, err := c.conn.Write(c.req); err != nil {
		return 0, false, false, err
	}
	if _, err := c.br.Peek(1); err != nil {
		return 0, false, false, err
	}
	n, keep, err = readAnswer(c.br)
	return n, keep, true, err
}

func (c *hitClient) close() {
	if c.conn != nil {
		_ = c.conn.Close() // done with it either way
		c.conn = nil
	}
}

var (
	errNoLength  = errors.New("answer has neither Content-Length nor chunked encoding")
	hdrLength    = []byte("Content-Length")
	hdrEncoding  = []byte("Transfer-Encoding")
	hdrConn      = []byte("Connection")
	tokenChunked = []byte("chunked")
	tokenClose   = []byte("close")
	tokenKeep    = []byte("keep-alive")
)

// readAnswer reads one HTTP/1.x answer from br: the status line (which must
// say 200), the headers (only the framing ones are looked at) and the whole
// body, which is skipped without being kept. keep says whether the
// connection may carry the next request.
func readAnswer(br *bufio.Reader) (n int, keep bool, err error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, false, fmt.Errorf("status line: %w", err)
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, false, fmt.Errorf("bad status line %q", line)
	}
	keep = line[7] == '1' // HTTP/1.1 keeps the connection unless told otherwise
	// line is bufio's buffer, which the header reads below overwrite: the
	// status is copied out (only when it is an error, so a 200 costs no
	// allocation).
	ok200 := bytes.Equal(line[9:12], []byte("200"))
	var status string
	if !ok200 {
		status = string(line[9:12])
	}
	length, chunked := -1, false
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return 0, false, fmt.Errorf("headers: %w", err)
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return 0, false, fmt.Errorf("bad header line %q", line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, hdrLength):
			v, ok := parseUint(value, 10)
			if !ok {
				return 0, false, fmt.Errorf("bad Content-Length %q", value)
			}
			length = v
		case bytes.EqualFold(name, hdrEncoding):
			chunked = containsFold(value, tokenChunked)
		case bytes.EqualFold(name, hdrConn):
			if bytes.EqualFold(value, tokenClose) {
				keep = false
			} else if bytes.EqualFold(value, tokenKeep) {
				keep = true
			}
		}
	}
	switch {
	case chunked:
		n, err = skipChunked(br)
	case length >= 0:
		n, err = br.Discard(length)
		if err != nil {
			err = fmt.Errorf("body: %d of %d bytes: %w", n, length, err)
		}
	default:
		err = errNoLength
	}
	if err != nil {
		return n, false, err
	}
	if !ok200 {
		return n, false, fmt.Errorf("status %s", status)
	}
	return n, keep, nil
}

// skipChunked reads a chunked body to its last chunk and the trailer.
func skipChunked(br *bufio.Reader) (int, error) {
	total := 0
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return total, fmt.Errorf("chunk size: %w", err)
		}
		line = bytes.TrimRight(line, "\r\n")
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		size, ok := parseUint(bytes.TrimSpace(line), 16)
		if !ok {
			return total, fmt.Errorf("bad chunk size %q", line)
		}
		if size == 0 {
			for { // trailer, up to the empty line
				line, err := br.ReadSlice('\n')
				if err != nil {
					return total, fmt.Errorf("trailer: %w", err)
				}
				if len(bytes.TrimRight(line, "\r\n")) == 0 {
					return total, nil
				}
			}
		}
		got, err := br.Discard(size)
		total += got
		if err != nil {
			return total, fmt.Errorf("chunk: %d of %d bytes: %w", got, size, err)
		}
		crlf, err := br.ReadSlice('\n')
		if err != nil || len(bytes.TrimRight(crlf, "\r\n")) != 0 {
			return total, fmt.Errorf("chunk not followed by CRLF: %w", errors.Join(err, io.ErrUnexpectedEOF))
		}
	}
}

// parseUint reads a non-negative number in base 10 or 16, up to 2^31-1,
// without allocating.
func parseUint(b []byte, base int) (int, bool) {
	if len(b) == 0 || len(b) > 10 {
		return 0, false
	}
	v := 0
	for _, c := range b {
		var d int
		switch {
		case c >= '0' && c <= '9':
			d = int(c - '0')
		case base == 16 && c >= 'a' && c <= 'f':
			d = int(c-'a') + 10
		case base == 16 && c >= 'A' && c <= 'F':
			d = int(c-'A') + 10
		default:
			return 0, false
		}
		v = v*base + d
	}
	return v, v <= 1<<31-1
}

// containsFold says whether token occurs in s, ASCII case-insensitively.
func containsFold(s, token []byte) bool {
	for i := 0; i+len(token) <= len(s); i++ {
		if bytes.EqualFold(s[i:i+len(token)], token) {
			return true
		}
	}
	return false
}
