// Package loadmix drives an opencode-compatible server with a long mix of
// real requests while event-stream subscribers are connected, some of them
// vanishing without closing (opencode#17908), and counts every answer that
// is not what the API promises. It is the one load generator behind
// bench/load.sh (the real binary, 1,000,000 requests) and the short load
// test of `go test` (in process, a few seconds); ProcStats reads the
// figures (RSS, threads, open descriptors) that show whether anything
// leaked.
//
// The mix, by weight out of 1,000 requests: session reads (list, get,
// messages, children, status) 390; file routes (list, read, status) 210;
// find (text, files, symbols) 100; config, app, agents, commands, MCP 210;
// writes (rename, create, delete, client log) 60; prompts 10 when a model is
// configured (Options.Prompts), else more session reads. Prompts go to
// sessions the load created (at most 4 per client, deleted again), so the
// stored conversations stay bounded however long the run. Writes are
// fsynced by the server, so they bound the throughput on a slow disk.
package loadmix

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options says what to send.
type Options struct {
	URL         string // the server's base URL, http://127.0.0.1:PORT
	Requests    int    // total requests
	Concurrency int    // parallel keep-alive clients (default 8)
	// Subscribers are /event streams held open during the run. Vanish of
	// them vanish: half stop reading at once and are dropped with a TCP
	// reset at the end, the other half are reset at a random moment of the
	// run; neither ever closes cleanly. The rest read every frame.
	Subscribers, Vanish int
	Sessions            int    // sessions created before the load and used by it (default 20)
	Prompts             bool   // send prompts (a model must answer them)
	Model               string // "providerID/modelID" of the prompts
	File                string // a project file the file routes read (default README.md)
	Pattern             string // the /find pattern (default "func")
	Symbol              string // the /find/symbol query (default "main")
	Seed                uint64
	// Tick, when set, is called about every 100 ms during the run (for
	// sampling the server's memory).
	Tick func()
}

// Result is what happened.
type Result struct {
	Requests int64            // answered requests
	Errors   int64            // transport errors and answers that are not the API's
	Samples  []string         // the first errors
	Elapsed  time.Duration    // the load, without the set-up
	Kinds    map[string]int64 // requests per kind
	Frames   int64            // frames the reading subscribers received
	CutOff   int              // reading subscribers whose stream ended before the run did
	Reset    int              // subscribers reset mid-run
	Stalled  int              // subscribers that stopped reading
}

// RPS is the throughput.
func (r Result) RPS() float64 { return float64(r.Requests) / r.Elapsed.Seconds() }

type kind struct {
	name   string
	weight int
	do     func(w *worker) error
}

type worker struct {
	o       *Options
	c       *http.Client
	rng     *rand.Rand
	i       int
	pool    []string // sessions shared by all workers, never deleted
	created []string // sessions this worker created and may delete
}

// Run sends the requests and returns when every one is answered.
func Run(ctx context.Context, o Options) (Result, error) {
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	if o.Sessions <= 0 {
		o.Sessions = 20
	}
	if o.File == "" {
		o.File = "README.md"
	}
	if o.Pattern == "" {
		o.Pattern = "func"
	}
	if o.Symbol == "" {
		o.Symbol = "main"
	}
	tr := &http.Transport{MaxIdleConnsPerHost: o.Concurrency, MaxConnsPerHost: o.Concurrency, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 2 * time.Minute}

	res := Result{Kinds: map[string]int64{}}
	setup := &worker{o: &o, c: client, rng: rand.New(rand.NewPCG(o.Seed, 0))}
	for range o.Sessions {
		var s struct{ ID string }
		if err := setup.call("POST", "/session", `{}`, &s); err != nil {
			return res, fmt.Errorf("creating the session pool: %w", err)
		}
		setup.pool = append(setup.pool, s.ID)
		if o.Prompts {
			if err := setup.prompt(s.ID); err != nil {
				return res, fmt.Errorf("the pool's first prompt: %w", err)
			}
		}
	}

	subs, err := subscribe(o)
	if err != nil {
		return res, err
	}

	kinds := mix(o)
	total := 0
	for _, k := range kinds {
		total += k.weight
	}
	pick := make([]int, 0, total) // request slot → kind
	for i, k := range kinds {
		for range k.weight {
			pick = append(pick, i)
		}
	}
	counts := make([]atomic.Int64, len(kinds))
	var next, errs atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	stopTick, tickDone := make(chan struct{}), make(chan struct{})
	if o.Tick == nil {
		close(tickDone)
	} else {
		go func() {
			defer close(tickDone)
			t := time.NewTicker(100 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stopTick:
					return
				case <-t.C:
					o.Tick()
				}
			}
		}()
	}
	for w := range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wk := &worker{o: &o, c: client, rng: rand.New(rand.NewPCG(o.Seed, uint64(w)+1)), pool: setup.pool}
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(o.Requests) {
					return
				}
				subs.maybeReset(i, int64(o.Requests))
				wk.i = int(i)
				k := pick[wk.rng.IntN(len(pick))]
				counts[k].Add(1)
				if err := kinds[k].do(wk); err != nil {
					errs.Add(1)
					mu.Lock()
					if len(res.Samples) < 10 {
						res.Samples = append(res.Samples, kinds[k].name+": "+err.Error())
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	close(stopTick)
	<-tickDone // Tick is not called once Run has returned
	res.Elapsed = time.Since(start)
	res.Requests = min(next.Load(), int64(o.Requests))
	res.Errors = errs.Load()
	for i, k := range kinds {
		res.Kinds[k.name] = counts[i].Load()
	}
	res.Frames, res.CutOff, res.Reset, res.Stalled = subs.close()
	if res.CutOff > 0 {
		res.Errors += int64(res.CutOff)
		res.Samples = append(res.Samples, fmt.Sprintf("%d reading subscribers were cut off", res.CutOff))
	}
	return res, ctx.Err()
}

// mix is the request mix (see the package comment).
func mix(o Options) []kind {
	sid := func(w *worker) string { return w.pool[w.rng.IntN(len(w.pool))] }
	get := func(path func(w *worker) string) func(w *worker) error {
		return func(w *worker) error { return w.call("GET", path(w), "", nil) }
	}
	fixed := func(p string) func(w *worker) string { return func(*worker) string { return p } }
	q := url.QueryEscape
	ks := []kind{
		{"session.list", 100, get(fixed("/session"))},
		{"session.get", 150, get(func(w *worker) string { return "/session/" + sid(w) })},
		{"session.messages", 80, get(func(w *worker) string { return "/session/" + sid(w) + "/message" })},
		{"session.children", 20, get(func(w *worker) string { return "/session/" + sid(w) + "/children" })},
		{"session.status", 40, get(fixed("/session/status"))},
		{"file.list", 60, get(fixed("/file?path=."))},
		{"file.read", 100, get(fixed("/file/content?path=" + q(o.File)))},
		{"file.status", 50, get(fixed("/file/status"))},
		{"find.text", 20, get(fixed("/find?pattern=" + q(o.Pattern)))},
		{"find.files", 60, get(fixed("/find/file?query=" + q(o.File[:min(3, len(o.File))])))},
		{"find.symbols", 20, get(fixed("/find/symbol?query=" + q(o.Symbol)))},
		{"config", 50, get(fixed("/config"))},
		{"config.providers", 40, get(fixed("/config/providers"))},
		{"app", 60, get(fixed("/app"))},
		{"agents", 30, get(fixed("/agent"))},
		{"commands", 20, get(fixed("/command"))},
		{"mcp", 10, get(fixed("/mcp"))},
		{"session.rename", 25, func(w *worker) error {
			return w.call("PATCH", "/session/"+sid(w), `{"title":"load `+strconv.Itoa(w.i)+`"}`, nil)
		}},
		{"session.create", 10, func(w *worker) error {
			if len(w.created) >= maxCreated {
				return w.deleteOne()
			}
			return w.create()
		}},
		{"session.delete", 10, func(w *worker) error {
			if len(w.created) == 0 {
				return w.create()
			}
			return w.deleteOne()
		}},
		{"log", 15, func(w *worker) error {
			return w.call("POST", "/log", `{"service":"load","level":"debug","message":"request `+strconv.Itoa(w.i)+`"}`, nil)
		}},
	}
	if o.Prompts {
		ks = append(ks, kind{"session.prompt", 10, func(w *worker) error {
			if len(w.created) == 0 {
				if err := w.create(); err != nil {
					return err
				}
			}
			return w.prompt(w.created[w.rng.IntN(len(w.created))])
		}})
	} else {
		ks[1].weight += 10
	}
	return ks
}

// maxCreated bounds the sessions a worker keeps: the conversations prompts
// grow live in these and go with them, so the server's data stays bounded.
const maxCreated = 4

func (w *worker) create() error {
	var s struct{ ID string }
	if err := w.call("POST", "/session", `{}`, &s); err != nil {
		return err
	}
	w.created = append(w.created, s.ID)
	return nil
}

func (w *worker) deleteOne() error {
	k := w.rng.IntN(len(w.created))
	id := w.created[k]
	w.created = append(w.created[:k], w.created[k+1:]...)
	return w.call("DELETE", "/session/"+id, "", nil)
}

// prompt sends a prompt to a session and checks the reply did not fail.
func (w *worker) prompt(id string) error {
	provider, model, _ := strings.Cut(w.o.Model, "/")
	body := fmt.Sprintf(`{"providerID":%q,"modelID":%q,"parts":[{"type":"text","text":"load %d"}]}`, provider, model, w.i)
	var m struct {
		Info struct {
			Error any `json:"error"`
		} `json:"info"`
	}
	if err := w.call("POST", "/session/"+id+"/message", body, &m); err != nil {
		return err
	}
	if m.Info.Error != nil {
		return fmt.Errorf("the reply failed: %v", m.Info.Error)
	}
	return nil
}

// call sends one request and checks the answer: 200 with a JSON body
// (decoded into out when given).
func (w *worker) call(method, path, body string, out any) error {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, w.o.URL+path, rd)
	if err != nil {
		return err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := w.c.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %d %.200s", method, path, resp.StatusCode, data)
	}
	if !json.Valid(data) {
		return fmt.Errorf("%s %s: the answer is not JSON: %.200s", method, path, data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// subscribers are the /event streams, on raw TCP connections so that a
// vanishing one can stop reading or be reset without a clean close.
type subscribers struct {
	readers []net.Conn
	stalled []net.Conn
	resets  []resetAt

	frames atomic.Int64
	ended  atomic.Int64 // readers whose stream ended before close
	done   sync.WaitGroup
	closed atomic.Bool
	mu     sync.Mutex
}

type resetAt struct {
	conn net.Conn
	at   int64 // reset when this many requests are sent, of 1,000,000 scaled to the run
	done bool
}

func subscribe(o Options) (*subscribers, error) {
	s := &subscribers{}
	u, err := url.Parse(o.URL)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(o.Seed, 99))
	for i := range o.Subscribers {
		conn, err := net.Dial("tcp", u.Host)
		if err != nil {
			return nil, err
		}
		if _, err := fmt.Fprintf(conn, "GET /event HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n\r\n", u.Host); err != nil {
			return nil, err
		}
		br := bufio.NewReader(conn)
		// Every subscriber reads up to server.connected: it is subscribed.
		if err := readUntilConnected(br); err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("subscriber %d: %w", i, err)
		}
		switch {
		case i < o.Vanish/2:
			s.stalled = append(s.stalled, conn) // never reads again
		case i < o.Vanish:
			s.resets = append(s.resets, resetAt{conn: conn, at: rng.Int64N(1_000_000)})
		default:
			s.readers = append(s.readers, conn)
			s.done.Add(1)
			go func() {
				defer s.done.Done()
				for {
					line, err := br.ReadSlice('\n')
					if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
						if !s.closed.Load() {
							s.ended.Add(1)
						}
						return
					}
					if bytes.HasPrefix(line, []byte("data: ")) {
						s.frames.Add(1)
					}
				}
			}()
		}
	}
	return s, nil
}

func readUntilConnected(br *bufio.Reader) error {
	status, err := br.ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.Contains(status, " 200 ") {
		return fmt.Errorf("GET /event: %s", strings.TrimSpace(status))
	}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return err
		}
		if strings.Contains(line, `"server.connected"`) {
			return nil
		}
	}
}

// maybeReset resets the subscribers whose moment has come (request i of n).
func (s *subscribers) maybeReset(i, n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.resets {
		r := &s.resets[k]
		if !r.done && i >= r.at*n/1_000_000 {
			r.done = true
			reset(r.conn)
		}
	}
}

// reset drops a connection with a TCP RST, as a vanished peer's does: no
// FIN, nothing read.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

func (s *subscribers) close() (frames int64, cutOff, resets, stalled int) {
	s.closed.Store(true)
	for _, c := range s.readers {
		_ = c.Close()
	}
	s.done.Wait()
	s.mu.Lock()
	for k := range s.resets {
		if !s.resets[k].done {
			s.resets[k].done = true
			reset(s.resets[k].conn)
		}
	}
	s.mu.Unlock()
	for _, c := range s.stalled {
		reset(c)
	}
	return s.frames.Load(), int(s.ended.Load()), len(s.resets), len(s.stalled)
}

// Proc is a process's resource use, read from /proc.
type Proc struct {
	RSSKB   int64 // VmRSS
	AnonKB  int64 // RssAnon: the heap and stacks; RssFile is mostly the binary's pages
	Threads int   // OS threads
	FDs     int   // open file descriptors
}

// ProcStats reads pid's resource use from /proc (Linux).
func ProcStats(pid int) (Proc, error) {
	var p Proc
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return p, err
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		switch k {
		case "VmRSS":
			p.RSSKB = n
		case "RssAnon":
			p.AnonKB = n
		case "Threads":
			p.Threads = int(n)
		}
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return p, err
	}
	p.FDs = len(fds)
	return p, nil
}
