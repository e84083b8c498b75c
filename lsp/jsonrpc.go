package lsp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
)

// conn is a JSON-RPC 2.0 connection with LSP's Content-Length framing.
type conn struct {
	w   io.WriteCloser
	wmu sync.Mutex
	r   *bufio.Reader

	mu      sync.Mutex
	next    int64
	pending map[int64]chan response
	done    chan struct{}
	err     error

	onNotify  func(method string, params json.RawMessage)
	onRequest func(method string, params json.RawMessage) any
}

type message struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method,omitempty"`
	Params  json.RawMessage `json:"params,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *rpcError       `json:"error,omitempty"`
}

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *rpcError) Error() string { return fmt.Sprintf("%s (code %d)", e.Message, e.Code) }

type response struct {
	result json.RawMessage
	err    error
}

// errClosed reports a connection whose server went away.
var errClosed = errors.New("language server connection closed")

func newConn(r io.Reader, w io.WriteCloser) *conn {
	return &conn{w: w, r: bufio.NewReaderSize(r, 64<<10), pending: map[int64]chan response{}, done: make(chan struct{})}
}

// run reads messages until the stream ends; then every pending call fails.
func (c *conn) run() {
	tp := textproto.NewReader(c.r)
	var err error
	for {
		var hdr textproto.MIMEHeader
		hdr, err = tp.ReadMIMEHeader()
		if err != nil {
			break
		}
		n, perr := strconv.Atoi(strings.TrimSpace(hdr.Get("Content-Length")))
		if perr != nil || n < 0 || n > 64<<20 {
			err = fmt.Errorf("bad Content-Length %q", hdr.Get("Content-Length"))
			break
		}
		body := make([]byte, n)
		if _, err = io.ReadFull(c.r, body); err != nil {
			break
		}
		var m message
		if json.Unmarshal(body, &m) != nil {
			continue
		}
		c.dispatch(m)
	}
	c.mu.Lock()
	c.err = err
	pend := c.pending
	c.pending = map[int64]chan response{}
	c.mu.Unlock()
	for _, ch := range pend {
		ch <- response{err: errClosed}
	}
	close(c.done)
}

func (c *conn) dispatch(m message) {
	switch {
	case m.Method != "" && len(m.ID) > 0: // a request from the server
		var result any
		if c.onRequest != nil {
			result = c.onRequest(m.Method, m.Params)
		}
		b, _ := json.Marshal(result)
		_ = c.write(message{JSONRPC: "2.0", ID: m.ID, Result: b})
	case m.Method != "":
		if c.onNotify != nil {
			c.onNotify(m.Method, m.Params)
		}
	default:
		id, err := strconv.ParseInt(string(m.ID), 10, 64)
		if err != nil {
			return
		}
		c.mu.Lock()
		ch := c.pending[id]
		delete(c.pending, id)
		c.mu.Unlock()
		if ch == nil {
			return
		}
		if m.Error != nil {
			ch <- response{err: m.Error}
		} else {
			ch <- response{result: m.Result}
		}
	}
}

func (c *conn) write(m message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if _, err := fmt.Fprintf(c.w, "Content-Length: %d\r\n\r\n", len(b)); err != nil {
		return err
	}
	_, err = c.w.Write(b)
	return err
}

// call sends a request and waits for its answer (or ctx, or the end of the
// connection).
func (c *conn) call(ctx context.Context, method string, params, result any) error {
	p, err := json.Marshal(params)
	if err != nil {
		return err
	}
	ch := make(chan response, 1)
	c.mu.Lock()
	select {
	case <-c.done:
		c.mu.Unlock()
		return errClosed
	default:
	}
	c.next++
	id := c.next
	c.pending[id] = ch
	c.mu.Unlock()
	if err := c.write(message{JSONRPC: "2.0", ID: json.RawMessage(strconv.FormatInt(id, 10)), Method: method, Params: p}); err != nil {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
		return err
	}
	select {
	case r := <-ch:
		if r.err != nil {
			return r.err
		}
		if result == nil || len(r.result) == 0 {
			return nil
		}
		return json.Unmarshal(r.result, result)
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
		_ = c.notify("$/cancelRequest", map[string]any{"id": id})
		return ctx.Err()
	}
}

func (c *conn) notify(method string, params any) error {
	p, err := json.Marshal(params)
	if err != nil {
		return err
	}
	return c.write(message{JSONRPC: "2.0", Method: method, Params: p})
}
