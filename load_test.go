package main

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"ocgo/bench/loadmix"
	"ocgo/provider/fakellm"
)

// TestLoadShort is the short form of bench/load.sh, in process: 10,000
// mixed requests (2,000 under -race: session reads and writes, prompts, file
// routes, find, config) over 8 keep-alive clients while 10 clients hold /event open, 4 of
// them vanishing without closing (two stop reading, two are reset mid-run).
// Every answer must be the API's; afterwards the goroutines, the open
// descriptors and the live heap must be back near where they started.
func TestLoadShort(t *testing.T) {
	n := 10_000
	if raceEnabled {
		n = 2_000 // the race detector makes each request several times dearer
	}
	fake := fakellm.NewAnthropic(t)
	fake.SetResponder(func(fakellm.Request) fakellm.Turn { return fakellm.Turn{Text: []string{"ok"}} })
	h := newHarness(t, harnessOpts{config: anthropicConfig(fake.URL), env: map[string]string{"ANTHROPIC_API_KEY": "k"}, noSSE: true,
		setup: func(dir string) {
			if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}})
	h.call("GET", "/file/status", nil, nil) // the watcher's first walk is done

	settle := func() (goroutines, fds int, heap uint64) {
		fake.ForgetRequests() // the fake's record of the prompts is not the server's memory
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		p, err := loadmix.ProcStats(os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		return runtime.NumGoroutine(), p.FDs, ms.HeapAlloc
	}
	opts := loadmix.Options{
		URL: h.srv.URL, Requests: 500, Concurrency: 8, Subscribers: 10, Vanish: 4, Sessions: 20,
		Prompts: true, Model: "anthropic/" + sonnet, File: "README.md", Pattern: "hello", Symbol: "main", Seed: 1,
	}
	// A first short run warms what stays (idle keep-alive connections to
	// the model, caches); the leak check compares against what is left after it.
	if res, err := loadmix.Run(context.Background(), opts); err != nil || res.Errors != 0 {
		t.Fatalf("warm-up: %v %v", err, res.Samples)
	}
	g0, fd0, heap0 := settle()
	var peak uint64
	opts.Requests, opts.Seed = n, 2
	opts.Tick = func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapAlloc)
	}
	res, err := loadmix.Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("load: %d requests in %v (%.0f/s), %d errors, %d frames to %d reading subscribers, %d reset, %d stalled; kinds %v",
		res.Requests, res.Elapsed.Round(time.Millisecond), res.RPS(), res.Errors, res.Frames, 10-res.Reset-res.Stalled, res.Reset, res.Stalled, res.Kinds)
	if res.Errors != 0 || res.Requests != int64(n) {
		t.Fatalf("%d of %d requests, %d errors: %v", res.Requests, n, res.Errors, res.Samples)
	}
	if res.Kinds["session.prompt"] == 0 || res.Frames == 0 {
		t.Fatalf("no prompt or no event reached the subscribers: %v, %d frames", res.Kinds, res.Frames)
	}

	// The server lets go of every connection, stream and run: allow a few
	// goroutines and descriptors of background work, and a bounded heap.
	var g1, fd1 int
	var heap1 uint64
	deadline := time.Now().Add(10 * time.Second)
	for {
		g1, fd1, heap1 = settle()
		if (g1 <= g0+5 && fd1 <= fd0+3) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("goroutines %d → %d, open descriptors %d → %d, heap %.1f MB → peak %.1f MB → %.1f MB",
		g0, g1, fd0, fd1, float64(heap0)/1e6, float64(peak)/1e6, float64(heap1)/1e6)
	if g1 > g0+5 {
		buf := make([]byte, 1<<20)
		t.Errorf("goroutines leaked: %d before, %d after\n%s", g0, g1, buf[:runtime.Stack(buf, true)])
	}
	if fd1 > fd0+3 {
		t.Errorf("descriptors leaked: %d before, %d after", fd0, fd1)
	}
	if heap1 > heap0+8<<20 {
		t.Errorf("heap grew from %.1f MB to %.1f MB", float64(heap0)/1e6, float64(heap1)/1e6)
	}
}
