package main

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ocgo/provider/fakellm"
	"ocgo/storage"
)

// TestKillStorm SIGKILLs a real ocgo at random points while every kind of
// write is in flight (sessions, title updates, prompts running a bash tool,
// shell commands, credentials), then restarts it and checks the invariants:
// it starts (no false "in use"), every JSON file parses, every acknowledged
// write is there, no temp file is left, and no reply or tool part is left
// unfinished. OCGO_KILLSTORM=N sets the number of kills (default 20);
// bench/killstorm.sh runs 1,000 and prints the figures.
func TestKillStorm(t *testing.T) {
	kills := 20
	if v, err := strconv.Atoi(os.Getenv("OCGO_KILLSTORM")); err == nil && v > 0 {
		kills = v
	}
	seed := uint64(time.Now().UnixNano())
	if v, err := strconv.ParseUint(os.Getenv("OCGO_KILLSTORM_SEED"), 10, 64); err == nil {
		seed = v
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	var rngMu sync.Mutex // the writers' goroutines draw from it too
	intN := func(n int) int {
		rngMu.Lock()
		defer rngMu.Unlock()
		return rng.IntN(n)
	}
	t.Logf("seed %d (OCGO_KILLSTORM_SEED)", seed)

	dir, data, home := t.TempDir(), t.TempDir(), t.TempDir()
	fake := fakellm.NewAnthropic(t)
	turns := func(n int) {
		for range n {
			fake.Push(fakellm.Turn{ToolCalls: []fakellm.ToolCall{{ID: "toolu_" + strconv.Itoa(intN(1e9)), Name: "bash",
				Args: `{"command":"echo start; sleep 0.05; echo x >> out.txt; echo end","description":"work"}`}}},
				fakellm.Turn{Text: []string{"done"}})
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "opencode.json"), []byte(`{"provider":{"anthropic":{"options":{"baseURL":"`+fake.URL+`"}}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "SHELL=/bin/sh", "ANTHROPIC_API_KEY=k", "OPENCODE_DISABLE_MODELS_FETCH=1"}

	var (
		mu       sync.Mutex
		sessions = map[string]bool{} // acknowledged creations
		touched  = map[string]bool{} // sessions written to since the last check
		titles   = map[string]*titleLog{}
		auths    = map[string]bool{}
		acked    atomic.Int64
		maxStart time.Duration
		recov    = map[string]bool{}
	)
	ocgoBinary(t) // built before the clock starts
	var starts time.Duration
	for k := 0; k < kills; k++ {
		turns(4)
		start := time.Now()
		p := startOcgo(t, dir, data, env)
		d := time.Since(start)
		starts += d
		maxStart = max(maxStart, d)
		verifyAfterKill(t, p, data, &mu, sessions, touched, titles, auths, recov, 200)
		if k > 0 && k%50 == 0 {
			t.Logf("killstorm: %d kills so far, %d acknowledged writes, start after a kill: mean %v", k, acked.Load(), (starts / time.Duration(k+1)).Round(time.Millisecond))
		}

		stop := make(chan struct{})
		var wg sync.WaitGroup
		worker := func(fn func(i int)) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					fn(i)
				}
			}()
		}
		ids := func() []string {
			mu.Lock()
			defer mu.Unlock()
			out := make([]string, 0, len(sessions))
			for id := range sessions {
				out = append(out, id)
			}
			return out
		}
		worker(func(int) {
			code, body, err := p.try("POST", "/session", "{}")
			if err == nil && code == 200 {
				var s storage.Session
				if err := json.Unmarshal([]byte(body), &s); err != nil {
					return // the answer was cut off by a kill: not acknowledged
				}
				mu.Lock()
				sessions[s.ID], touched[s.ID] = true, true
				mu.Unlock()
				acked.Add(1)
			}
		})
		worker(func(i int) {
			all := ids()
			if len(all) == 0 {
				time.Sleep(5 * time.Millisecond)
				return
			}
			id := all[i%len(all)]
			title := fmt.Sprintf("t-%d-%d", k, i)
			mu.Lock()
			tl := titles[id]
			if tl == nil {
				tl = &titleLog{}
				titles[id] = tl
			}
			tl.later = append(tl.later, title) // attempted
			touched[id] = true
			mu.Unlock()
			code, _, err := p.try("PATCH", "/session/"+id, `{"title":"`+title+`"}`)
			if err == nil && code == 200 {
				mu.Lock()
				tl.acked, tl.later = title, nil // earlier attempts no longer count
				mu.Unlock()
				acked.Add(1)
			}
		})
		worker(func(i int) {
			all := ids()
			if len(all) == 0 {
				time.Sleep(5 * time.Millisecond)
				return
			}
			id := all[intN(len(all))]
			mu.Lock()
			touched[id] = true
			mu.Unlock()
			// Load only: a request the kill cuts off is expected.
			if i%2 == 0 {
				_, _, _ = p.try("POST", "/session/"+id+"/message", asJSON(textPrompt("go")))
			} else {
				_, _, _ = p.try("POST", "/session/"+id+"/shell", `{"agent":"build","command":"echo s; sleep 0.05; echo e"}`)
			}
		})
		worker(func(i int) {
			id := fmt.Sprintf("prov%d-%d", k, i)
			code, _, err := p.try("PUT", "/auth/"+id, `{"type":"api","key":"key-`+id+`"}`)
			if err == nil && code == 200 {
				mu.Lock()
				auths[id] = true
				mu.Unlock()
				acked.Add(1)
			}
			time.Sleep(20 * time.Millisecond)
		})
		time.Sleep(time.Duration(30+intN(300)) * time.Millisecond)
		p.stop(true)
		close(stop)
		wg.Wait()
	}
	p := startOcgo(t, dir, data, env)
	verifyAfterKill(t, p, data, &mu, sessions, touched, titles, auths, recov, 0)
	p.stop(false)
	t.Logf("killstorm: %d kills, %d acknowledged writes (all found), %d sessions, start after a kill: mean %v, slowest %v; %d interrupted replies completed at start",
		kills, acked.Load(), len(sessions), (starts / time.Duration(kills)).Round(time.Millisecond), maxStart.Round(time.Millisecond), len(recov))
}

// titleLog is what a session's title may be after a kill: the last
// acknowledged title, or one attempted after it.
type titleLog struct {
	acked string
	later []string
}

var killClient = &http.Client{Timeout: 10 * time.Second}

// try is do without failing the test on a transport error (the server may
// be killed mid-request).
func (p *proc) try(method, path, body string) (int, string, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, p.URL+path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := killClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, string(b), err
}

// verifyAfterKill checks the invariants on a freshly started server: every
// file and credential, and over HTTP every session written to since the
// last check plus sample others (all of them when sample is 0, as after the
// last kill), so that a long storm's checks do not grow with its square.
func verifyAfterKill(t *testing.T, p *proc, data string, mu *sync.Mutex, sessions, touched map[string]bool, titles map[string]*titleLog, auths map[string]bool, recov map[string]bool, sample int) {
	t.Helper()
	var temps []string
	if err := filepath.WalkDir(data, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		name := d.Name()
		if strings.HasSuffix(name, ".tmp") && strings.HasPrefix(name, ".") {
			temps = append(temps, path)
		}
		if strings.HasSuffix(name, ".json") && !strings.Contains(path, string(filepath.Separator)+"quarantine"+string(filepath.Separator)) {
			b, err := os.ReadFile(path)
			if err == nil && !json.Valid(b) {
				t.Errorf("corrupt JSON after a kill: %s: %q", path, b)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// The restarted server writes in the background (the shadow
	// repository's stat cache): a temp file it is writing is renamed
	// within moments; one the crash left would stay.
	if len(temps) > 0 {
		time.Sleep(time.Second)
	}
	for _, path := range temps {
		if _, err := os.Lstat(path); err == nil {
			t.Errorf("temp file left after restart: %s", path)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	authFile, _ := os.ReadFile(filepath.Join(data, "auth.json"))
	var stored map[string]json.RawMessage
	if len(authFile) > 0 { // none before the first login
		if err := json.Unmarshal(authFile, &stored); err != nil {
			t.Errorf("auth.json: %v", err)
		}
	}
	for id := range auths {
		if _, ok := stored[id]; !ok {
			t.Errorf("acknowledged credential %s lost", id)
		}
	}
	check := map[string]bool{}
	for id := range sessions {
		if touched[id] || sample <= 0 {
			check[id] = true
		}
	}
	for id := range sessions { // map order: a different sample each time
		if len(check) >= len(touched)+sample {
			break
		}
		check[id] = true
	}
	clear(touched)
	for id := range check {
		code, body, err := p.try("GET", "/session/"+id, "")
		if err != nil || code != 200 {
			t.Errorf("acknowledged session %s lost: %d %v", id, code, err)
			continue
		}
		var s storage.Session
		if err := json.Unmarshal([]byte(body), &s); err != nil {
			t.Fatal(err)
		}
		if tl := titles[id]; tl != nil && tl.acked != "" && s.Title != tl.acked && !containsStr(tl.later, s.Title) {
			t.Errorf("session %s: title %q, want the acknowledged %q or a later attempt", id, s.Title, tl.acked)
		}
		_, msgs, _ := p.try("GET", "/session/"+id+"/message", "")
		var ws []storage.WithParts
		if err := json.Unmarshal([]byte(msgs), &ws); err != nil {
			t.Fatal(err)
		}
		for _, w := range ws {
			if w.Info.Role == storage.RoleAssistant {
				if w.Info.Time.Completed == nil {
					t.Errorf("session %s: reply %s left unfinished", id, w.Info.ID)
				}
				if w.Info.Error != nil && strings.Contains(fmt.Sprint(w.Info.Error.Data), "interrupted") {
					recov[w.Info.ID] = true
				}
			}
			for _, part := range w.Parts {
				if part.State != nil && (part.State.Status == storage.ToolPending || part.State.Status == storage.ToolRunning) {
					t.Errorf("session %s: tool part %s left %s", id, part.ID, part.State.Status)
				}
			}
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
